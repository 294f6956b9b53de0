package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The data tier's checks of /health, configured by the unit's environment file (the local cloud renders it
// from the tier's unit with the live endpoints; on EC2 the same variables come from the user data, the
// password read from Secrets Manager by the secret id):
//
//	PLINTH_DB_WRITER, PLINTH_DB_READER   host:port of the primary and of a replica
//	PLINTH_DB_USER, PLINTH_DB_PASSWORD   the application's database credentials
//	PLINTH_CACHE_ADDR, PLINTH_CACHE_TOKEN host:port of the cache's primary and its auth token
//	PLINTH_CA_FILE                        the roots that verify the servers (TLS is used when set)
//
// Without PLINTH_DB_WRITER and PLINTH_CACHE_ADDR /health reports only the version.

// checks are the data tier's health checks.
type checks struct {
	writer, reader *sql.DB
	cacheAddr      string
	cacheToken     string
	tls            *tls.Config
}

// checksFromEnv builds the checks getenv configures (nil: none configured).
func checksFromEnv(getenv func(string) string) (*checks, error) {
	c := &checks{cacheAddr: getenv("PLINTH_CACHE_ADDR"), cacheToken: getenv("PLINTH_CACHE_TOKEN")}
	if getenv("PLINTH_DB_WRITER") == "" && c.cacheAddr == "" {
		return nil, nil
	}
	if f := getenv("PLINTH_CA_FILE"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("PLINTH_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("PLINTH_CA_FILE %s: no certificate", f)
		}
		c.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if err := mysql.RegisterTLSConfig("plinth", c.tls); err != nil {
			return nil, err
		}
	}
	open := func(addr string) (*sql.DB, error) {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = getenv("PLINTH_DB_USER"), getenv("PLINTH_DB_PASSWORD"), "tcp", addr, 3*time.Second
		if c.tls != nil {
			cfg.TLSConfig = "plinth"
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		db := sql.OpenDB(conn)
		db.SetMaxOpenConns(4)
		return db, nil
	}
	var err error
	if w := getenv("PLINTH_DB_WRITER"); w != "" {
		if c.writer, err = open(w); err != nil {
			return nil, fmt.Errorf("PLINTH_DB_WRITER: %w", err)
		}
		c.reader = c.writer
		if r := getenv("PLINTH_DB_READER"); r != "" {
			if c.reader, err = open(r); err != nil {
				return nil, fmt.Errorf("PLINTH_DB_READER: %w", err)
			}
		}
	}
	return c, nil
}

// run checks a write to the primary, a read of it from the replica, and a cache round trip: "ok" or the
// error of each part configured.
func (c *checks) run(ctx context.Context) map[string]string {
	out := map[string]string{}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c.writer != nil {
		out["database"] = result(c.database(ctx))
	}
	if c.cacheAddr != "" {
		out["cache"] = result(c.cache(ctx))
	}
	return out
}

func result(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

func (c *checks) database(ctx context.Context) error {
	mark := time.Now().UTC().Format(time.RFC3339Nano)
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS plinth_health",
		"CREATE TABLE IF NOT EXISTS plinth_health.beat (id INT PRIMARY KEY, at VARCHAR(40) NOT NULL)"} {
		if _, err := c.writer.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("primary: %w", err)
		}
	}
	if _, err := c.writer.ExecContext(ctx, "REPLACE INTO plinth_health.beat VALUES (1, ?)", mark); err != nil {
		return fmt.Errorf("primary write: %w", err)
	}
	// The replica has the write once it has replicated it: poll briefly.
	for {
		var at string
		err := c.reader.QueryRowContext(ctx, "SELECT at FROM plinth_health.beat WHERE id = 1").Scan(&at)
		if err == nil && at >= mark {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("replica read: %w", err)
			}
			return errors.New("replica read: the primary's write has not arrived")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cache authenticates and round-trips a value (RESP inline commands).
func (c *checks) cache(ctx context.Context) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", c.cacheAddr)
	if err != nil {
		return err
	}
	conn := raw
	if c.tls != nil {
		host, _, _ := net.SplitHostPort(c.cacheAddr)
		cfg := c.tls.Clone()
		cfg.ServerName = host
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	r := bufio.NewReader(conn)
	mark := fmt.Sprintf("%d", time.Now().UnixNano())
	for _, step := range []struct{ cmd, want string }{
		{"AUTH " + c.cacheToken, "+OK"}, {"SET plinth:health " + mark, "+OK"}, {"GET plinth:health", mark},
	} {
		if _, err := fmt.Fprintf(conn, "%s\r\n", step.cmd); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(step.cmd)[0], err)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "$") && line != "$-1" {
			if line, err = r.ReadString('\n'); err != nil {
				return err
			}
			line = strings.TrimRight(line, "\r\n")
		}
		if line != step.want {
			return fmt.Errorf("%s: %q", strings.Fields(step.cmd)[0], line)
		}
	}
	return nil
}
