package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
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
	return statusRow(ctx, db, "SHOW SLAVE STATUS")
}

// statusRow is the first row of a SHOW statement as column -> value (nil: no row).
func statusRow(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.ToLower(q), err)
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
		return nil, fmt.Errorf("%s: %w", strings.ToLower(q), err)
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

// WaitGTIDSeconds is the timeout argument WaitGTID passes for wait: MariaDB takes fractions (at least 1 ms:
// a negative number would wait forever); MySQL 5.7's WAIT_FOR_EXECUTED_GTID_SET took whole seconds (WL#7796),
// so MySQL gets wait rounded up to whole seconds, at least 1.
func WaitGTIDSeconds(flavor string, wait time.Duration) float64 {
	secs := wait.Seconds()
	if flavor != mysql.MariaDBFlavor {
		return math.Max(1, math.Ceil(secs))
	}
	return math.Max(0.001, secs)
}

// WaitGTID waits up to wait for db to have applied the GTID position pos, written in the server's own
// notation: MASTER_GTID_WAIT on MariaDB (a replica's gtid_slave_pos), WAIT_FOR_EXECUTED_GTID_SET on MySQL
// (gtid_executed, replica or not).
func WaitGTID(ctx context.Context, db *sql.DB, flavor, pos string, wait time.Duration) error {
	var res sql.NullInt64
	if err := db.QueryRowContext(ctx, WaitGTIDSQL(flavor), pos, WaitGTIDSeconds(flavor, wait)).Scan(&res); err != nil {
		return fmt.Errorf("wait for gtid %s: %w", pos, err)
	}
	switch {
	case !res.Valid:
		return fmt.Errorf("wait for gtid %s: the server returned NULL (is it replicating?)", pos)
	case res.Int64 != 0:
		return fmt.Errorf("gtid %s after %s: %w", pos, wait, ErrGTIDWaitTimeout)
	}
	return nil
}

// ReplicaStatus is the replica status of db in either flavor (ReplicaStatusSQL), with MySQL's column names
// also under the MariaDB ones SlaveStatus returns (NormalizeReplicaStatus). nil: not a replica.
func ReplicaStatus(ctx context.Context, db *sql.DB, flavor string) (map[string]string, error) {
	st, err := statusRow(ctx, db, ReplicaStatusSQL(flavor))
	if err != nil || st == nil {
		return st, err
	}
	return NormalizeReplicaStatus(st), nil
}

// NormalizeReplicaStatus returns st with MySQL's Replica/Source columns also under their Slave/Master names
// (Replica_IO_Running as Slave_IO_Running, Seconds_Behind_Source as Seconds_Behind_Master; a column already
// there keeps its value).
func NormalizeReplicaStatus(st map[string]string) map[string]string {
	out := make(map[string]string, 2*len(st))
	for k, v := range st {
		out[k] = v
	}
	for k, v := range st {
		words := strings.Split(k, "_")
		for i, w := range words {
			switch w {
			case "Replica":
				words[i] = "Slave"
			case "Source":
				words[i] = "Master"
			}
		}
		if old := strings.Join(words, "_"); old != k {
			if _, ok := out[old]; !ok {
				out[old] = v
			}
		}
	}
	return out
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
