package mysqlx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/mysqlx/binlogsql"
)

// ReplayOptions say which part of the binlog files to apply.
type ReplayOptions struct {
	StartGTID string    // exclusive: transactions after this GTID position
	StopGTID  string    // inclusive
	StopTime  time.Time // exclusive: stop at the first event whose timestamp is at or after it (second precision)
	Database  string    // only this database's changes ("" : all)
	Rewrite   map[string]string
}

// ReplayBinlog applies binlog files to the server of db, the way WAL-G's binlog-replay does but without
// the mariadb client: mariadb-binlog (mysqlbinlog) decodes the files, and its output, split into statements
// (binlogsql.Reader), runs in order on ONE connection of db: the target's own pool, so its registered
// dialer (the bastion) and its TLS configuration (the server verified) carry the replay, and the session
// state the output sets (SET TIMESTAMP, @@session variables, USE, pseudo-replica mode, GTIDs) holds for the
// BINLOG events that follow. The first failing statement stops the replay: the error gives its position
// in the binlog ("# at N") and a short excerpt. The connection is discarded afterwards (never back in the
// pool with the replay's session state). Memory holds one statement at a time.
//
// The user needs, besides the data privileges of the changes: BINLOG REPLAY (MariaDB >= 10.5.2, for the
// BINLOG statements; SUPER before), and SUPER or the privileges MariaDB asks to set the session's
// gtid_seq_no, server_id and pseudo_slave_mode (see docs/backup.md).
func ReplayBinlog(ctx context.Context, db *sql.DB, files []string, o ReplayOptions) (err error) {
	decoder, err := findTool("mariadb-binlog", "mysqlbinlog")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, discard, err := sessionConn(ctx, db)
	if err != nil {
		return err
	}
	defer discard()
	dec := exec.CommandContext(ctx, decoder, append(decoderArgs(o), files...)...)
	dec.Env = append(os.Environ(), "TZ=UTC")
	out, err := dec.StdoutPipe()
	if err != nil {
		return err
	}
	var decErr strings.Builder
	dec.Stderr = &decErr
	if err := dec.Start(); err != nil {
		return fmt.Errorf("replay: %s: %w", decoder, err)
	}
	applied, rerr := applyStatements(ctx, conn, binlogsql.NewReader(out, 0))
	if rerr != nil {
		cancel() // stop the decoder: nothing more is read
		_, _ = io.Copy(io.Discard, out)
	}
	derr := dec.Wait()
	if rerr != nil {
		return fmt.Errorf("replay: after %d statements: %w", applied, rerr)
	}
	if derr != nil {
		return fmt.Errorf("replay: %s: %w: %s", decoder, derr, strings.TrimSpace(decErr.String()))
	}
	return nil
}

// applyStatements runs every statement of r on conn in order, stopping at the first error.
func applyStatements(ctx context.Context, conn *sql.Conn, r *binlogsql.Reader) (int, error) {
	n := 0
	for {
		st, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			return n, fmt.Errorf("statement at binlog position %d (decoder output line %d) %s: %w", st.At, st.Line, st.Excerpt(), err)
		}
		n++
	}
}

// CheckReplayPrivilege tells, before anything is restored, whether db's user may replay binlog events: on
// MariaDB it sets a session variable the decoder's output sets (gtid_domain_id, refused without BINLOG
// REPLAY or SUPER, as the BINLOG statements are) on a connection then discarded. Other servers pass
// unchecked (their replay fails at its first statement instead).
func CheckReplayPrivilege(ctx context.Context, db *sql.DB) error {
	conn, discard, err := sessionConn(ctx, db)
	if err != nil {
		return err
	}
	defer discard()
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("replay: server version: %w", err)
	}
	if FlavorOfVersion(version) != "mariadb" {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "SET @@session.gtid_domain_id = @@session.gtid_domain_id"); err != nil {
		return fmt.Errorf("replay: the user cannot replay binlog events (needs BINLOG REPLAY on MariaDB >= 10.5.2, SUPER before): %w", err)
	}
	return nil
}

// sessionConn is one connection of db whose session state is never handed back to the pool: discard closes
// it for good (the replay's pseudo-replica mode, server_id and gtid_seq_no stay with it).
func sessionConn(ctx context.Context, db *sql.DB) (*sql.Conn, func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: connect: %w", err)
	}
	return conn, func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}, nil
}

func decoderArgs(o ReplayOptions) []string {
	args := []string{"--skip-gtid-strict-mode"}
	if o.StartGTID != "" {
		args = append(args, "--start-position="+o.StartGTID)
	}
	if o.StopGTID != "" {
		args = append(args, "--stop-position="+o.StopGTID)
	}
	if !o.StopTime.IsZero() {
		args = append(args, "--stop-datetime="+o.StopTime.UTC().Format("2006-01-02 15:04:05"))
	}
	if o.Database != "" {
		args = append(args, "--database="+o.Database)
	}
	for from, to := range o.Rewrite {
		args = append(args, "--rewrite-db="+from+"->"+to)
	}
	return args
}

func findTool(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("replay: none of %v found (Debian: mariadb-client)", names)
}
