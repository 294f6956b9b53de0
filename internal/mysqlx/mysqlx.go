// Package mysqlx dumps, loads and hashes tables of MySQL/MariaDB through github.com/go-sql-driver/mysql.
//
// Rows travel in LOAD DATA's default text format (tab-separated fields, backslash escapes, \N for NULL, one
// line per row), read with SET NAMES binary so bytes are never re-encoded, and loaded back with
// LOAD DATA LOCAL INFILE ... CHARACTER SET binary from a stream. Each table's content also gets an
// order-independent hash (the sum of xxhash64 over the encoded rows), computed while dumping and recomputed
// from a restored table to compare them.
package mysqlx

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Open opens a pool for dsn with the parameters dumps and loads need.
func Open(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.MaxAllowedPacket = 0 // ask the server
	if cfg.DialFunc == nil && (cfg.Net == "tcp" || cfg.Net == "unix") {
		// Other networks are dialers registered with the driver (an SSH channel through the bastion): a
		// DialFunc would replace them.
		cfg.DialFunc = dialBuffered
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("dsn %s: %w", Redact(dsn), err)
	}
	return sql.OpenDB(c), nil
}

// Redact returns dsn without its password: user@tcp(host:3306)/db.
func Redact(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "<unparseable dsn>"
	}
	return fmt.Sprintf("%s@%s(%s)/%s", cfg.User, cfg.Net, cfg.Addr, cfg.DBName)
}

// Addr is dsn's host:port ("" when dsn does not parse).
func Addr(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return cfg.Addr
}

// QuoteIdent quotes a MySQL identifier with backticks.
func QuoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// QualifiedName is `schema`.`table`.
func QualifiedName(schema, table string) string { return QuoteIdent(schema) + "." + QuoteIdent(table) }

// SystemDatabases are never dumped.
var SystemDatabases = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// Database is one schema's definition.
type Database struct {
	Name      string `json:"name"`
	Charset   string `json:"charset"`
	Collation string `json:"collation"`
}

// CreateSQL creates the database (under name, which may differ from d.Name) if absent.
func (d Database) CreateSQL(name string) string {
	q := "CREATE DATABASE IF NOT EXISTS " + QuoteIdent(name)
	if d.Charset != "" {
		q += " CHARACTER SET " + d.Charset
	}
	if d.Collation != "" {
		q += " COLLATE " + d.Collation
	}
	return q
}

// Table is one base table: its definition and the columns its rows carry (generated columns excluded).
type Table struct {
	Schema     string   `json:"schema"`
	Name       string   `json:"name"`
	CreateSQL  string   `json:"create"`
	Columns    []string `json:"columns"`
	DataLength int64    `json:"dataLength"`
	Engine     string   `json:"engine,omitempty"`
	// EstRows and AvgRowLength are the server's estimates (information_schema), for chunking.
	EstRows      int64 `json:"estRows,omitempty"`
	AvgRowLength int64 `json:"avgRowLength,omitempty"`
	// ChunkKey is the single integer primary-key column the table can be split on ("" if none).
	ChunkKey string `json:"chunkKey,omitempty"`
}

// Qualified is `schema`.`name`.
func (t Table) Qualified() string { return QualifiedName(t.Schema, t.Name) }

// String is schema.name.
func (t Table) String() string { return t.Schema + "." + t.Name }

func columnList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = QuoteIdent(c)
	}
	return strings.Join(q, ",")
}
