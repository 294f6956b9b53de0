package drill

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// ReplicaLag is the state of production's DR replica as the preflight sees it.
type ReplicaLag struct {
	Running bool `json:"running"`
	// Behind counts the primary's transactions (its @@gtid_binlog_pos) the replica has not applied: the
	// measure of lag (Seconds_Behind_Master has 1 s resolution and reads 0 while the IO thread lags).
	Behind  uint64 `json:"behind"`
	IOError string `json:"ioError,omitempty"`
	SQLErr  string `json:"sqlError,omitempty"`
}

func (l ReplicaLag) String() string {
	if !l.Running {
		return fmt.Sprintf("not replicating (io: %s; sql: %s)", or(l.IOError, "stopped"), or(l.SQLErr, "stopped"))
	}
	return fmt.Sprintf("replicating, %d transactions behind the primary", l.Behind)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CheckDRReplica reads whether the DR replica replicates and how many of the primary's transactions it
// has not applied yet. It only reads both servers.
func CheckDRReplica(ctx context.Context, primary, replica *sql.DB) (ReplicaLag, error) {
	st, err := mysqlx.SlaveStatus(ctx, replica)
	if err != nil {
		return ReplicaLag{}, fmt.Errorf("DR replica: %w", err)
	}
	if st == nil {
		return ReplicaLag{IOError: "not a replica"}, nil
	}
	lag := ReplicaLag{Running: st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes",
		IOError: st["Last_IO_Error"], SQLErr: st["Last_SQL_Error"]}
	var ppos, cur, slave string
	if err := primary.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&ppos); err != nil {
		return lag, fmt.Errorf("primary gtid position: %w", err)
	}
	if err := replica.QueryRowContext(ctx, "SELECT @@gtid_current_pos, @@gtid_slave_pos").Scan(&cur, &slave); err != nil {
		return lag, fmt.Errorf("DR replica gtid position: %w", err)
	}
	p, err1 := ParseGTIDPos(ppos)
	c, err2 := ParseGTIDPos(cur)
	s, err3 := ParseGTIDPos(slave)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return lag, fmt.Errorf("gtid position: %w", err)
		}
	}
	lag.Behind = c.Merge(s).Behind(p)
	return lag, nil
}
