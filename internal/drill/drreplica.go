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
	// Behind counts the primary's transactions (its @@gtid_binlog_pos, or MySQL's @@gtid_executed) the
	// replica has not applied: the measure of lag (Seconds_Behind_Master has 1 s resolution and reads 0 while the IO thread lags).
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
// has not applied yet, in the servers' flavor (both must run the same: a MySQL primary's gtid_executed
// against its replica's, a MariaDB primary's gtid_binlog_pos against its replica's applied position). It
// only reads both servers.
func CheckDRReplica(ctx context.Context, primary, replica *sql.DB) (ReplicaLag, error) {
	flavor, err := serverFlavor(ctx, replica, "DR replica", "")
	if err != nil {
		return ReplicaLag{}, err
	}
	pflavor, err := serverFlavor(ctx, primary, "primary", "")
	if err != nil {
		return ReplicaLag{}, err
	}
	if pflavor != flavor {
		return ReplicaLag{}, fmt.Errorf("primary runs %s but its DR replica %s: no GTID position compares across them", pflavor, flavor)
	}
	st, err := mysqlx.ReplicaStatus(ctx, replica, flavor)
	if err != nil {
		return ReplicaLag{}, fmt.Errorf("DR replica: %w", err)
	}
	if st == nil {
		return ReplicaLag{IOError: "not a replica"}, nil
	}
	lag := ReplicaLag{Running: st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes",
		IOError: st["Last_IO_Error"], SQLErr: st["Last_SQL_Error"]}
	p, err := binlogPos(ctx, primary, flavor, "primary")
	if err != nil {
		return lag, err
	}
	r, err := appliedPos(ctx, replica, flavor, "DR replica")
	if err != nil {
		return lag, err
	}
	if lag.Behind, err = r.Behind(p); err != nil {
		return lag, fmt.Errorf("DR replica against the primary: %w", err)
	}
	return lag, nil
}
