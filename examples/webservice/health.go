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
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The data tier's checks of /health, configured by the unit's environment files (components/userdata renders
// them: the endpoints and the secrets' ids in the environment file, from the tier's user data on EC2 and on
// the live local cloud alike; the values resolved at the unit's start into its secrets file):
//
//	PLINTH_DB_WRITER, PLINTH_DB_READER   host:port of the primary and of a replica
//	PLINTH_DB_NAME                       the application's schema (default plinth_app), with its health table
//	PLINTH_DB_USER, PLINTH_DB_PASSWORD   the application's database user (DML on its schema only)
//	PLINTH_CACHE_ADDR, PLINTH_CACHE_TOKEN host:port of the cache's primary and its auth token
//	PLINTH_CA_FILE                        the roots that verify the servers (TLS is used when set)
//
// Without PLINTH_DB_WRITER and PLINTH_CACHE_ADDR /health reports only the version. The check writes a row to
// the primary and reads it back from the reader; "databaseRead" says which server answered: "replica" (a
// read-only server other than the writer) or "primary".

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// checks are the data tier's health checks.
type checks struct {
	writer, reader *sql.DB
	schema         string
	cacheAddr      string
	cacheToken     string
	tls            *tls.Config
}

// checksFromEnv builds the checks getenv configures (nil: none configured).
func checksFromEnv(getenv func(string) string) (*checks, error) {
	c := &checks{cacheAddr: getenv("PLINTH_CACHE_ADDR"), cacheToken: getenv("PLINTH_CACHE_TOKEN"), schema: getenv("PLINTH_DB_NAME")}
	if c.schema == "" {
		c.schema = "plinth_app"
	}
	if !schemaRE.MatchString(c.schema) {
		return nil, fmt.Errorf("PLINTH_DB_NAME %q: want a lower-case schema name", c.schema)
	}
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
		read, err := c.database(ctx)
		out["database"] = result(err)
		if err == nil {
			out["databaseRead"] = read
		}
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

// database writes a mark to the primary's health table and polls the reader until it has it; it says which
// server answered the read: "replica" (read-only, another server_id than the writer's) or "primary".
func (c *checks) database(ctx context.Context) (string, error) {
	mark := time.Now().UTC().Format(time.RFC3339Nano)
	table := "`" + c.schema + "`.health"
	if _, err := c.writer.ExecContext(ctx, "REPLACE INTO "+table+" (id, at) VALUES (1, ?)", mark); err != nil {
		return "", fmt.Errorf("primary write: %w", err)
	}
	var writerID, readerID uint64
	var readOnly bool
	if err := c.writer.QueryRowContext(ctx, "SELECT @@server_id").Scan(&writerID); err != nil {
		return "", fmt.Errorf("primary: %w", err)
	}
	if err := c.reader.QueryRowContext(ctx, "SELECT @@server_id, @@read_only").Scan(&readerID, &readOnly); err != nil {
		return "", fmt.Errorf("replica: %w", err)
	}
	served := "primary"
	if readerID != writerID && readOnly {
		served = "replica"
	}
	// The replica has the write once it has replicated it: poll briefly.
	for {
		var at string
		err := c.reader.QueryRowContext(ctx, "SELECT at FROM "+table+" WHERE id = 1").Scan(&at)
		if err == nil && at >= mark {
			return served, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return "", fmt.Errorf("replica read: %w", err)
			}
			return "", errors.New("replica read: the primary's write has not arrived")
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
