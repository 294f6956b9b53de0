package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Position is where the binlog stood at the snapshot.
type Position struct {
	BinlogFile string `json:"binlogFile,omitempty"`
	BinlogPos  uint64 `json:"binlogPos,omitempty"`
	GTID       string `json:"gtid,omitempty"`
	// Time is the server's UTC clock read while the lock was held: the snapshot's consistent point (no
	// transaction commits while FLUSH TABLES WITH READ LOCK is held, so the snapshot holds exactly those
	// committed before it).
	Time time.Time `json:"time,omitzero"`
}

// Snapshot is a set of connections that all see the same consistent InnoDB snapshot, taken like mydumper:
// FLUSH TABLES WITH READ LOCK on one connection, START TRANSACTION WITH CONSISTENT SNAPSHOT on every worker
// while the lock is held, binlog position and GTID read, UNLOCK TABLES.
type Snapshot struct {
	Position      Position
	ServerVersion string
	Databases     []Database
	Tables        []Table
	// Objects are the views, routines, triggers and events of the databases, in creation order.
	Objects []Object
	// Warnings name what the snapshot cannot hold consistently or at all (non-transactional tables,
	// sequences).
	Warnings []string
	// Reader is how the workers read rows: "protocol" (wire.go), or "driver: <why>".
	Reader  string
	workers []*worker
}

// BeginSnapshot opens workers connections sharing one snapshot of databases (empty: every non-system
// database). dsn is the one db was opened with: when its network is TCP or a unix socket the workers read
// rows at the protocol level (wire.go), else (or with dsn empty) through db's driver. Close releases them.
func BeginSnapshot(ctx context.Context, db *sql.DB, dsn string, databases []string, workers int) (_ *Snapshot, err error) {
	if workers < 1 {
		workers = 1
	}
	s := &Snapshot{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	lock, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot: connect: %w", err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "SET SESSION lock_wait_timeout = 60"); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if _, err := lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return nil, fmt.Errorf("snapshot: FLUSH TABLES WITH READ LOCK (needs RELOAD): %w", err)
	}
	unlocked := false
	defer func() {
		if !unlocked {
			_, _ = lock.ExecContext(context.Background(), "UNLOCK TABLES")
		}
	}()
	s.Reader = "protocol"
	for i := 0; i < workers; i++ {
		c, fallback, err := openWorker(ctx, db, dsn)
		if err != nil {
			return nil, fmt.Errorf("snapshot: worker %d: connect: %w", i, err)
		}
		if fallback != "" {
			s.Reader = "driver: " + fallback
		}
		s.workers = append(s.workers, c)
		for _, q := range []string{
			"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
			"SET NAMES binary",
			"SET SESSION time_zone = '+00:00'",
			"SET SESSION net_write_timeout = 3600",
			"START TRANSACTION WITH CONSISTENT SNAPSHOT",
		} {
			if err := c.exec(ctx, q); err != nil {
				return nil, fmt.Errorf("snapshot: worker %d: %s: %w", i, q, err)
			}
		}
	}
	if err := s.readPosition(ctx, lock); err != nil {
		return nil, err
	}
	if err := s.readSchema(ctx, lock, databases); err != nil {
		return nil, err
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return nil, fmt.Errorf("snapshot: UNLOCK TABLES: %w", err)
	}
	unlocked = true
	return s, nil
}

func (s *Snapshot) readPosition(ctx context.Context, c *sql.Conn) error {
	var now string
	if err := c.QueryRowContext(ctx, "SELECT VERSION(), UTC_TIMESTAMP(6)").Scan(&s.ServerVersion, &now); err != nil {
		return fmt.Errorf("snapshot: version and time: %w", err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", now, time.UTC)
	if err != nil {
		return fmt.Errorf("snapshot: server time %q: %w", now, err)
	}
	s.Position.Time = t
	rows, err := c.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return fmt.Errorf("snapshot: SHOW MASTER STATUS: %w", err)
	}
	cols, _ := rows.Columns()
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return fmt.Errorf("snapshot: SHOW MASTER STATUS: %w", err)
		}
		s.Position.BinlogFile = vals[0].String
		_, _ = fmt.Sscan(vals[1].String, &s.Position.BinlogPos)
		for i, name := range cols {
			if strings.EqualFold(name, "Executed_Gtid_Set") {
				s.Position.GTID = vals[i].String // MySQL
			}
		}
	}
	rows.Close()
	if s.Position.GTID == "" && strings.Contains(strings.ToLower(s.ServerVersion), "mariadb") {
		var g sql.NullString
		if err := c.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&g); err == nil {
			s.Position.GTID = g.String
		}
	}
	return nil
}

func (s *Snapshot) readSchema(ctx context.Context, c *sql.Conn, databases []string) error {
	rows, err := c.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return fmt.Errorf("snapshot: list databases: %w", err)
	}
	want := map[string]bool{}
	for _, d := range databases {
		want[d] = true
	}
	found := map[string]bool{}
	for rows.Next() {
		var d Database
		if err := rows.Scan(&d.Name, &d.Charset, &d.Collation); err != nil {
			rows.Close()
			return fmt.Errorf("snapshot: list databases: %w", err)
		}
		if (len(want) == 0 && !SystemDatabases[d.Name] && !strings.HasPrefix(d.Name, ScratchPrefix)) || want[d.Name] {
			s.Databases = append(s.Databases, d)
			found[d.Name] = true
		}
	}
	rows.Close()
	for _, d := range databases {
		if !found[d] {
			return fmt.Errorf("snapshot: database %q does not exist", d)
		}
	}
	sort.Slice(s.Databases, func(i, j int) bool { return s.Databases[i].Name < s.Databases[j].Name })
	for _, d := range s.Databases {
		trows, err := c.QueryContext(ctx, "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE,''), COALESCE(DATA_LENGTH,0), COALESCE(TABLE_ROWS,0), COALESCE(AVG_ROW_LENGTH,0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE') ORDER BY TABLE_NAME", d.Name)
		if err != nil {
			return fmt.Errorf("snapshot: list tables of %s: %w", d.Name, err)
		}
		var tables []Table
		for trows.Next() {
			t := Table{Schema: d.Name}
			var typ string
			if err := trows.Scan(&t.Name, &typ, &t.Engine, &t.DataLength, &t.EstRows, &t.AvgRowLength); err != nil {
				trows.Close()
				return fmt.Errorf("snapshot: list tables of %s: %w", d.Name, err)
			}
			if typ == "SEQUENCE" {
				s.Warnings = append(s.Warnings, fmt.Sprintf("sequence %s is not backed up (sequences are not supported)", t))
				continue
			}
			if !transactional[strings.ToUpper(t.Engine)] {
				s.Warnings = append(s.Warnings, fmt.Sprintf("table %s uses the non-transactional engine %s: its rows are read outside the consistent snapshot and may not match the other tables", t, t.Engine))
			}
			tables = append(tables, t)
		}
		trows.Close()
		if err := readChunkKeys(ctx, c, d.Name, tables); err != nil {
			return err
		}
		for i := range tables {
			t := &tables[i]
			var name string
			if err := c.QueryRowContext(ctx, "SHOW CREATE TABLE "+t.Qualified()).Scan(&name, &t.CreateSQL); err != nil {
				return fmt.Errorf("snapshot: SHOW CREATE TABLE %s: %w", t, err)
			}
			crows, err := c.QueryContext(ctx, "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", t.Schema, t.Name)
			if err != nil {
				return fmt.Errorf("snapshot: columns of %s: %w", t, err)
			}
			for crows.Next() {
				var col, extra string
				if err := crows.Scan(&col, &extra); err != nil {
					crows.Close()
					return fmt.Errorf("snapshot: columns of %s: %w", t, err)
				}
				e := strings.ToUpper(extra)
				if strings.Contains(e, "GENERATED") || strings.Contains(e, "VIRTUAL") || strings.Contains(e, "PERSISTENT") || strings.Contains(e, "STORED") {
					continue
				}
				t.Columns = append(t.Columns, col)
			}
			crows.Close()
			if len(t.Columns) == 0 {
				return fmt.Errorf("snapshot: table %s has no storable columns", t)
			}
		}
		s.Tables = append(s.Tables, tables...)
		objs, err := readObjects(ctx, c, d.Name)
		if err != nil {
			return err
		}
		s.Objects = append(s.Objects, objs...)
	}
	return nil
}

// Workers is the number of snapshot connections.
func (s *Snapshot) Workers() int { return len(s.workers) }

// ErrClosed is returned when dumping from a closed snapshot.
var ErrClosed = errors.New("snapshot closed")

// DumpTable streams t's rows, as they are in the snapshot, through worker connection w to emit (one encoded
// line per row, newline included; the slice is reused after emit returns). It returns the row count and the
// table's order-independent hash.
func (s *Snapshot) DumpTable(ctx context.Context, w int, t Table, emit func(line []byte) error) (int64, uint64, error) {
	if w < 0 || w >= len(s.workers) || s.workers[w] == nil {
		return 0, 0, ErrClosed
	}
	return s.workers[w].dump(ctx, t, "", emit)
}

// Close rolls back and releases every worker connection.
func (s *Snapshot) Close() {
	for i, c := range s.workers {
		if c != nil {
			c.close()
			s.workers[i] = nil
		}
	}
}
