package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
)

// Loader is one connection set up for bulk loading: binary charset, unique and foreign key checks off,
// NO_AUTO_VALUE_ON_ZERO (like mysqldump) and optionally no binlog.
type Loader struct {
	c *sql.Conn
}

// NewLoader takes a connection from db for bulk loads.
func NewLoader(ctx context.Context, db *sql.DB, skipBinlog bool) (*Loader, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("loader: connect: %w", err)
	}
	stmts := []string{
		"SET NAMES binary",
		"SET SESSION foreign_key_checks = 0",
		"SET SESSION unique_checks = 0",
		"SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'",
		"SET SESSION time_zone = '+00:00'",
	}
	if skipBinlog {
		stmts = append(stmts, "SET SESSION sql_log_bin = 0")
	}
	for _, q := range stmts {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.Close()
			return nil, fmt.Errorf("loader: %s: %w", q, err)
		}
	}
	return &Loader{c: c}, nil
}

// Close returns the connection.
func (l *Loader) Close() error { return l.c.Close() }

// Exec runs one statement on the loader's connection.
func (l *Loader) Exec(ctx context.Context, q string) error {
	_, err := l.c.ExecContext(ctx, q)
	return err
}

// ExecArgs runs one statement with arguments on the loader's connection.
func (l *Loader) ExecArgs(ctx context.Context, q string, args ...any) error {
	_, err := l.c.ExecContext(ctx, q, args...)
	return err
}

var readerSeq atomic.Uint64

// Load streams r (lines as produced by a dump) into schema.table's columns with LOAD DATA LOCAL INFILE and
// returns the rows loaded.
func (l *Loader) Load(ctx context.Context, schema, table string, columns []string, r io.Reader) (int64, error) {
	name := fmt.Sprintf("plinth-%d", readerSeq.Add(1))
	mysql.RegisterReaderHandler(name, func() io.Reader { return r })
	defer mysql.DeregisterReaderHandler(name)
	q := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' INTO TABLE " + QualifiedName(schema, table) +
		" CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (" +
		columnList(columns) + ")"
	res, err := l.c.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("load %s.%s: %w", schema, table, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

var (
	secondaryKeyLine = regexp.MustCompile(`^\s*(UNIQUE KEY|KEY) `)
	noDeferMarkers   = []string{"FOREIGN KEY", "FULLTEXT", "SPATIAL", "PARTITION BY", "WITH SYSTEM VERSIONING", "VECTOR"}
)

// SplitSecondaryIndexes rewrites a CREATE TABLE statement (as SHOW CREATE TABLE prints it, one definition
// per line) so that secondary indexes are built after the load: it returns the statement without its
// KEY/UNIQUE KEY lines, and the ADD clauses to apply with AlterAddIndexes. Tables with foreign keys,
// fulltext/spatial indexes, partitions or system versioning are returned unchanged.
func SplitSecondaryIndexes(create string) (string, []string) {
	up := strings.ToUpper(create)
	for _, m := range noDeferMarkers {
		if strings.Contains(up, m) {
			return create, nil
		}
	}
	lines := strings.Split(create, "\n")
	if len(lines) < 3 {
		return create, nil
	}
	last := -1
	for i := len(lines) - 1; i > 0; i-- {
		if strings.HasPrefix(lines[i], ")") {
			last = i
			break
		}
	}
	if last < 0 {
		return create, nil
	}
	var keep, adds []string
	for _, ln := range lines[1:last] {
		def := strings.TrimSuffix(strings.TrimSpace(ln), ",")
		if secondaryKeyLine.MatchString(ln) {
			adds = append(adds, "ADD "+def)
			continue
		}
		keep = append(keep, "  "+def)
	}
	if len(adds) == 0 || len(keep) == 0 {
		return create, nil
	}
	out := lines[0] + "\n" + strings.Join(keep, ",\n") + "\n" + strings.Join(lines[last:], "\n")
	return out, adds
}

// AlterAddIndexes is the statement adding deferred indexes to schema.table.
func AlterAddIndexes(schema, table string, adds []string) string {
	return "ALTER TABLE " + QualifiedName(schema, table) + " " + strings.Join(adds, ", ")
}

// IsRetryable reports whether err is a deadlock or lock wait timeout: the transaction was rolled back and
// may simply be run again.
func IsRetryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}
