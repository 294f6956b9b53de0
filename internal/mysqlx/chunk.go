package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// integerTypes are the column types a table can be split on by primary-key ranges.
var integerTypes = map[string]bool{"tinyint": true, "smallint": true, "mediumint": true, "int": true, "bigint": true}

// readChunkKeys sets ChunkKey on the tables of db whose primary key is one integer column.
func readChunkKeys(ctx context.Context, c *sql.Conn, db string, tables []Table) error {
	rows, err := c.QueryContext(ctx, `SELECT s.TABLE_NAME, MIN(s.COLUMN_NAME), COUNT(*), MIN(c.DATA_TYPE)
		FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.INDEX_NAME = 'PRIMARY' GROUP BY s.TABLE_NAME`, db)
	if err != nil {
		return fmt.Errorf("snapshot: primary keys of %s: %w", db, err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var table, col, typ string
		var n int
		if err := rows.Scan(&table, &col, &n, &typ); err != nil {
			return fmt.Errorf("snapshot: primary keys of %s: %w", db, err)
		}
		if n == 1 && integerTypes[strings.ToLower(typ)] {
			keys[table] = col
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("snapshot: primary keys of %s: %w", db, err)
	}
	for i := range tables {
		tables[i].ChunkKey = keys[tables[i].Name]
	}
	return nil
}

// KeyRange is a half-open range of a table's integer primary key; a nil bound is open.
type KeyRange struct {
	From *int64 `json:"from,omitempty"`
	To   *int64 `json:"to,omitempty"`
}

// where is the SQL condition selecting the range of key column col.
func (r KeyRange) where(col string) string {
	var conds []string
	if r.From != nil {
		conds = append(conds, QuoteIdent(col)+" >= "+strconv.FormatInt(*r.From, 10))
	}
	if r.To != nil {
		conds = append(conds, QuoteIdent(col)+" < "+strconv.FormatInt(*r.To, 10))
	}
	return strings.Join(conds, " AND ")
}

// SplitRange cuts [lo, hi] into n ranges of equal key span, the first open below and the last open above
// (rows inserted outside the bounds after they were read are impossible inside the snapshot, but the
// open ends make the cover total anyway).
func SplitRange(lo, hi int64, n int) []KeyRange {
	if n < 2 || hi <= lo {
		return []KeyRange{{}}
	}
	span := (uint64(hi) - uint64(lo)) / uint64(n)
	if span == 0 {
		span = 1
	}
	var out []KeyRange
	var prev *int64
	for i := 1; i < n; i++ {
		cut := int64(uint64(lo) + span*uint64(i))
		if prev != nil && cut <= *prev {
			continue
		}
		c := cut
		out = append(out, KeyRange{From: prev, To: &c})
		prev = &c
	}
	return append(out, KeyRange{From: prev})
}

// KeyBounds reads the smallest and largest key of t inside the snapshot (worker w); ok is false for an
// empty table or a key outside int64 (unsigned BIGINT).
func (s *Snapshot) KeyBounds(ctx context.Context, w int, t Table) (lo, hi int64, ok bool, err error) {
	if w < 0 || w >= len(s.workers) || s.workers[w] == nil {
		return 0, 0, false, ErrClosed
	}
	if t.ChunkKey == "" {
		return 0, 0, false, nil
	}
	ab := make([]sql.NullString, 2)
	k := QuoteIdent(t.ChunkKey)
	if err := s.workers[w].strings(ctx, "SELECT MIN("+k+"), MAX("+k+") FROM "+t.Qualified(), ab); err != nil {
		return 0, 0, false, fmt.Errorf("key bounds of %s: %w", t, err)
	}
	a, b := ab[0], ab[1]
	if !a.Valid || !b.Valid {
		return 0, 0, false, nil
	}
	lo, err1 := strconv.ParseInt(a.String, 10, 64)
	hi, err2 := strconv.ParseInt(b.String, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false, nil
	}
	return lo, hi, true, nil
}

// DumpRange is DumpTable restricted to one range of t's chunk key.
func (s *Snapshot) DumpRange(ctx context.Context, w int, t Table, r KeyRange, emit func(line []byte) error) (int64, uint64, error) {
	if w < 0 || w >= len(s.workers) || s.workers[w] == nil {
		return 0, 0, ErrClosed
	}
	where := ""
	if t.ChunkKey != "" {
		where = r.where(t.ChunkKey)
	}
	return s.workers[w].dump(ctx, t, where, emit)
}
