package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// The replication "until" statements: a replica stopped, then replicating up to exactly a GTID position and
// no further (the DR drill promotes its database at the position a snapshot of the primary was read at).
// On RDS MySQL the master user may not STOP/START REPLICA: RDS's stored procedures do it, and
// mysql.rds_start_replication_until_gtid takes one GTID (uuid:n), not a set.

// StopReplicaSQL stops a replica's replication.
func StopReplicaSQL(flavor string, rds bool) string {
	switch {
	case flavor == mysql.MariaDBFlavor:
		return "STOP SLAVE"
	case rds:
		return "CALL mysql.rds_stop_replication"
	}
	return "STOP REPLICA"
}

// StartReplicaSQL starts a stopped replica's replication again, with no end.
func StartReplicaSQL(flavor string, rds bool) string {
	switch {
	case flavor == mysql.MariaDBFlavor:
		return "START SLAVE"
	case rds:
		return "CALL mysql.rds_start_replication"
	}
	return "START REPLICA"
}

// ReplicateUntilSQL restarts a stopped replica's replication up to exactly pos (in the server's notation):
// MariaDB's UNTIL master_gtid_pos, MySQL's UNTIL SQL_AFTER_GTIDS, RDS's rds_start_replication_until_gtid
// with the set's last transaction, which needs a set of one server (one uuid, one interval from 1).
func ReplicateUntilSQL(flavor string, rds bool, pos string) (string, error) {
	if strings.TrimSpace(pos) == "" {
		return "", fmt.Errorf("replicate until: empty GTID position")
	}
	switch {
	case flavor == mysql.MariaDBFlavor:
		if _, err := mysql.ParseMariadbGTIDSet(pos); err != nil {
			return "", fmt.Errorf("replicate until %q: %w", pos, err)
		}
		return "START SLAVE UNTIL master_gtid_pos = " + Literal(pos), nil
	case !rds:
		if _, err := mysql.ParseMysqlGTIDSet(pos); err != nil {
			return "", fmt.Errorf("replicate until %q: %w", pos, err)
		}
		return "START REPLICA UNTIL SQL_AFTER_GTIDS = " + Literal(pos), nil
	}
	last, err := lastGTID(pos)
	if err != nil {
		return "", err
	}
	return "CALL mysql.rds_start_replication_until_gtid(" + Literal(last) + ")", nil
}

// lastGTID is uuid:n of a MySQL set holding exactly one server's transactions 1..n.
func lastGTID(pos string) (string, error) {
	set, err := mysql.ParseMysqlGTIDSet(pos)
	if err != nil {
		return "", fmt.Errorf("replicate until %q: %w", pos, err)
	}
	ms := set.(*mysql.MysqlGTIDSet)
	if len(ms.Sets) != 1 {
		return "", fmt.Errorf("replicate until %q: RDS stops at one GTID; this set holds %d servers' transactions", pos, len(ms.Sets))
	}
	for _, u := range ms.Sets {
		if len(u.Intervals) != 1 || u.Intervals[0].Start != 1 {
			return "", fmt.Errorf("replicate until %q: RDS stops at one GTID; this set has gaps", pos)
		}
		return fmt.Sprintf("%s:%d", u.SID, u.Intervals[0].Stop-1), nil
	}
	return "", fmt.Errorf("replicate until %q: no transactions", pos)
}

// IsRDS tells an RDS instance by its base directory (/rdsdbbin/...), where STOP/START REPLICA are refused
// to the master user and RDS's procedures stand in.
func IsRDS(ctx context.Context, db *sql.DB) (bool, error) {
	var dir sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT @@basedir").Scan(&dir); err != nil {
		return false, fmt.Errorf("@@basedir: %w", err)
	}
	return strings.HasPrefix(dir.String, "/rdsdbbin/"), nil
}
