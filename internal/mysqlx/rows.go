package mysqlx

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dumpRows selects t's columns and encodes each row as a LOAD DATA line.
func dumpRows(ctx context.Context, q querier, t Table, emit func([]byte) error) (int64, uint64, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+columnList(t.Columns)+" FROM "+t.Qualified())
	if err != nil {
		return 0, 0, fmt.Errorf("dump %s: %w", t, err)
	}
	defer rows.Close()
	vals := make([]sql.RawBytes, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var (
		n    int64
		sum  uint64
		line = make([]byte, 0, 4096)
	)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, sum, fmt.Errorf("dump %s: row %d: %w", t, n+1, err)
		}
		line = EncodeRow(line[:0], vals)
		sum += xxhash.Sum64(line)
		n++
		if err := emit(line); err != nil {
			return n, sum, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, sum, fmt.Errorf("dump %s: %w", t, err)
	}
	return n, sum, nil
}

// EncodeRow appends one row in LOAD DATA's default format: fields separated by tab, NULL as \N, backslash,
// tab, newline and NUL escaped, a trailing newline.
func EncodeRow(dst []byte, vals []sql.RawBytes) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, '\t')
		}
		if v == nil {
			dst = append(dst, '\\', 'N')
			continue
		}
		start := 0
		for j, c := range v {
			var esc byte
			switch c {
			case '\\':
				esc = '\\'
			case '\t':
				esc = 't'
			case '\n':
				esc = 'n'
			case 0:
				esc = '0'
			default:
				continue
			}
			dst = append(dst, v[start:j]...)
			dst = append(dst, '\\', esc)
			start = j + 1
		}
		dst = append(dst, v[start:]...)
	}
	return append(dst, '\n')
}

// LineHash is the per-row hash summed into a table's hash (callers hashing a decoded stream use it).
func LineHash(line []byte) uint64 { return xxhash.Sum64(line) }

// HashTable recomputes the row count and order-independent hash of a table's current content (a restored
// copy, for verification), reading it with the same encoding as a dump.
func HashTable(ctx context.Context, db *sql.DB, t Table) (int64, uint64, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("hash %s: %w", t, err)
	}
	defer c.Close()
	for _, q := range []string{"SET NAMES binary", "SET SESSION time_zone = '+00:00'"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("hash %s: %w", t, err)
		}
	}
	return dumpRows(ctx, c, t, func([]byte) error { return nil })
}
