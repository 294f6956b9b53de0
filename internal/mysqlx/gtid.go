package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// The GTID SQL differs by flavor: MariaDB numbers transactions per replication domain (domain-server-seq) and
// keeps its own and the replicated ones in separate variables; MySQL (RDS engine "mysql") keeps one set of
// UUID:interval lists, gtid_executed, and waits for it with WAIT_FOR_EXECUTED_GTID_SET. The functions below
// choose the statement for a flavor (pure, golden-tested); the readers run them.

// FlavorOfVersion is the flavor of a server from its @@version (ServerFlavor reads it): mysql.MariaDBFlavor when it names MariaDB,
// mysql.MySQLFlavor otherwise (RDS MySQL reports "8.0.35", Aurora "8.0.mysql_aurora.3.05.2").
func FlavorOfVersion(version string) string {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return mysql.MariaDBFlavor
	}
	return mysql.MySQLFlavor
}

// BinlogGTIDVar is the variable holding every transaction the server has written to its binlog: MariaDB's
// gtid_binlog_pos, MySQL's gtid_executed. A primary's position at an instant (the drill's T0).
func BinlogGTIDVar(flavor string) string {
	if flavor == mysql.MariaDBFlavor {
		return "@@GLOBAL.gtid_binlog_pos"
	}
	return "@@GLOBAL.gtid_executed"
}

// AppliedGTIDVars are the variables that together hold every transaction a server has applied, its own and
// those it replicated: MariaDB's gtid_current_pos with gtid_slave_pos (a promoted replica's replicated
// position stays in the latter), MySQL's gtid_executed alone.
func AppliedGTIDVars(flavor string) []string {
	if flavor == mysql.MariaDBFlavor {
		return []string{"@@GLOBAL.gtid_current_pos", "@@GLOBAL.gtid_slave_pos"}
	}
	return []string{"@@GLOBAL.gtid_executed"}
}

// WaitGTIDSQL is the statement that waits (position, seconds) for a server to have applied a GTID position:
// MariaDB's MASTER_GTID_WAIT (0 reached, -1 timed out, NULL not replicating), MySQL's
// WAIT_FOR_EXECUTED_GTID_SET (0 reached, 1 timed out).
func WaitGTIDSQL(flavor string) string {
	if flavor == mysql.MariaDBFlavor {
		return "SELECT MASTER_GTID_WAIT(?, ?)"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
}

// ReplicaStatusSQL is the statement that shows a replica's threads: SHOW SLAVE STATUS on MariaDB, SHOW
// REPLICA STATUS on MySQL (8.0.22+; 8.4 removed the SLAVE form).
func ReplicaStatusSQL(flavor string) string {
	if flavor == mysql.MariaDBFlavor {
		return "SHOW SLAVE STATUS"
	}
	return "SHOW REPLICA STATUS"
}

// CurrentGTID is the GTID set the server has written to its binlog so far (MariaDB's gtid_binlog_pos,
// MySQL's gtid_executed): where a new binlog chain starts when nothing older is known.
func CurrentGTID(ctx context.Context, db *sql.DB, flavor string) (string, error) {
	v := BinlogGTIDVar(flavor)
	var g sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT "+v).Scan(&g); err != nil {
		return "", fmt.Errorf("current GTID: %s: %w", v, err)
	}
	return g.String, nil
}

// AppliedGTID reads AppliedGTIDVars(flavor): one value per variable, in that order.
func AppliedGTID(ctx context.Context, db *sql.DB, flavor string) ([]string, error) {
	vars := AppliedGTIDVars(flavor)
	vals := make([]sql.NullString, len(vars))
	ptrs := make([]any, len(vars))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := db.QueryRowContext(ctx, "SELECT "+strings.Join(vars, ", ")).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(vars, ", "), err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.String
	}
	return out, nil
}
