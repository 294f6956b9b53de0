package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReplicationSource is the server a MariaDB replica pulls from, and how it logs in.
type ReplicationSource struct {
	Host     string
	Port     int
	User     string
	Password string
	// CAFile, when set, makes the replica connect over TLS and verify the source's certificate against it.
	CAFile string
}

// String names the source without its credentials.
func (s ReplicationSource) String() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// Literal quotes s as a MySQL string literal (for statements that take no placeholders, such as CHANGE MASTER).
func Literal(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`).Replace(s) + "'"
}

// ChangeMasterSQL is the CHANGE MASTER statement that points a MariaDB replica at src with GTID positions
// (slave_pos: a replica that already applied some of src's transactions continues after them).
func ChangeMasterSQL(src ReplicationSource) string {
	q := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
		Literal(src.Host), src.Port, Literal(src.User), Literal(src.Password))
	if src.CAFile != "" {
		q += ", MASTER_SSL=1, MASTER_SSL_CA=" + Literal(src.CAFile) + ", MASTER_SSL_VERIFY_SERVER_CERT=1"
	}
	return q
}

// SlaveStatus is SHOW SLAVE STATUS of the default connection as column -> value (nil: not a replica).
func SlaveStatus(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, fmt.Errorf("show slave status: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("show slave status: %w", err)
	}
	st := make(map[string]string, len(cols))
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, rows.Err()
}

// StartReplica points db at src (CHANGE MASTER with GTIDs) and starts replication, waiting up to wait for
// both threads to run; the error carries the server's own IO/SQL error.
func StartReplica(ctx context.Context, db *sql.DB, src ReplicationSource, wait time.Duration) error {
	for _, q := range []string{"STOP SLAVE", ChangeMasterSQL(src), "START SLAVE"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("replicate from %s: %s: %w", src, strings.Fields(q)[0], err)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		st, err := SlaveStatus(ctx, db)
		if err != nil {
			return err
		}
		if st != nil && st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes" {
			return nil
		}
		if time.Now().After(deadline) {
			if st == nil {
				return fmt.Errorf("replicate from %s: not a replica after START SLAVE", src)
			}
			return fmt.Errorf("replicate from %s: not running after %s: io %s %s; sql %s %s", src, wait,
				st["Slave_IO_Running"], st["Last_IO_Error"], st["Slave_SQL_Running"], st["Last_SQL_Error"])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ErrGTIDWaitTimeout is returned by WaitGTID when the server did not reach the position in time.
var ErrGTIDWaitTimeout = errors.New("did not reach the GTID position in time")

// WaitGTID waits up to wait for db (a replica) to have applied the GTID position pos (MASTER_GTID_WAIT).
func WaitGTID(ctx context.Context, db *sql.DB, pos string, wait time.Duration) error {
	var res sql.NullInt64
	secs := wait.Seconds()
	if secs <= 0 {
		secs = 0.001
	}
	if err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, ?)", pos, secs).Scan(&res); err != nil {
		return fmt.Errorf("wait for gtid %s: %w", pos, err)
	}
	switch {
	case !res.Valid:
		return fmt.Errorf("wait for gtid %s: the server is not replicating", pos)
	case res.Int64 != 0:
		return fmt.Errorf("gtid %s after %s: %w", pos, wait, ErrGTIDWaitTimeout)
	}
	return nil
}

// Promote makes a MariaDB replica a standalone, writable primary: replication stopped and forgotten
// (its applied position stays in @@gtid_slave_pos), read_only off. Idempotent.
func Promote(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{"STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("promote: %s: %w", q, err)
		}
	}
	return nil
}
