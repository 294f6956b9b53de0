package drill

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// The drill's reads of GTID positions, in the flavor of the server they read (mysqlx chooses the SQL):
// who names the server in errors, with the variable that failed.

// serverFlavor is the flavor of who's server (its @@version), or known when the wiring already knows it.
func serverFlavor(ctx context.Context, db *sql.DB, who, known string) (string, error) {
	if known != "" {
		return known, nil
	}
	f, err := mysqlx.ServerFlavor(ctx, db)
	if err != nil {
		return "", fmt.Errorf("%s: %w", who, err)
	}
	return f, nil
}

// binlogPos is everything who's server has written to its binlog (MariaDB gtid_binlog_pos, MySQL
// gtid_executed).
func binlogPos(ctx context.Context, db *sql.DB, flavor, who string) (GTIDPos, error) {
	s, err := mysqlx.CurrentGTID(ctx, db, flavor)
	if err != nil {
		return GTIDPos{}, fmt.Errorf("%s: %w", who, err)
	}
	p, err := ParseGTIDPosFlavor(flavor, s)
	if err != nil {
		return GTIDPos{}, fmt.Errorf("%s %s: %w", who, mysqlx.BinlogGTIDVar(flavor), err)
	}
	return p, nil
}

// appliedPos is everything who's server has applied, its own transactions and replicated ones (MariaDB
// gtid_current_pos merged with gtid_slave_pos, MySQL gtid_executed).
func appliedPos(ctx context.Context, db *sql.DB, flavor, who string) (GTIDPos, error) {
	vals, err := mysqlx.AppliedGTID(ctx, db, flavor)
	if err != nil {
		return GTIDPos{}, fmt.Errorf("%s gtid position: %w", who, err)
	}
	vars := mysqlx.AppliedGTIDVars(flavor)
	var pos GTIDPos
	for i, v := range vals {
		p, err := ParseGTIDPosFlavor(flavor, v)
		if err == nil {
			pos, err = pos.Merge(p)
		}
		if err != nil {
			return GTIDPos{}, fmt.Errorf("%s %s: %w", who, vars[i], err)
		}
	}
	return pos, nil
}

// noGTIDs explains an empty binlog position on a server that has just committed a write: it logs no GTIDs,
// so no replica position can be compared with it.
func noGTIDs(flavor, who string) error {
	fix := "log_bin on"
	if flavor != mysql.MariaDBFlavor {
		fix = "gtid_mode=ON and enforce_gtid_consistency=ON (RDS: the parameter group's gtid-mode and enforce_gtid_consistency)"
	}
	return fmt.Errorf("%s %s is empty after a committed write: the server logs no GTIDs (want %s)",
		who, mysqlx.BinlogGTIDVar(flavor), fix)
}
