package mysqlx

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// CurrentGTID is the GTID set the server has written to its binlog so far (MariaDB's gtid_binlog_pos,
// MySQL's gtid_executed): where a new binlog chain starts when nothing older is known.
func CurrentGTID(ctx context.Context, db *sql.DB, flavor string) (string, error) {
	q := "SELECT @@GLOBAL.gtid_executed"
	if flavor == mysql.MariaDBFlavor {
		q = "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	var g sql.NullString
	if err := db.QueryRowContext(ctx, q).Scan(&g); err != nil {
		return "", fmt.Errorf("current GTID: %w", err)
	}
	return g.String, nil
}
