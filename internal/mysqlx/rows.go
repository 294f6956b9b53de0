package mysqlx

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/go-mysql-org/go-mysql/mysql"
)

// dumpRows selects t's columns on conn and encodes each row as a LOAD DATA line. It reads through the
// driver directly (conn.Raw): no database/sql conversion or copy per value.
func dumpRows(ctx context.Context, c *sql.Conn, t Table, emit func([]byte) error) (n int64, sum uint64, err error) {
	return dumpRowsWhere(ctx, c, t, "", emit)
}

// dumpRowsWhere is dumpRows over the rows matching where (empty: all).
func dumpRowsWhere(ctx context.Context, c *sql.Conn, t Table, where string, emit func([]byte) error) (int64, uint64, error) {
	query := selectRows(t, where)
	tl := tally{emit: emit}
	err := c.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver %T cannot query", dc)
		}
		rows, err := qc.QueryContext(ctx, query, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, len(rows.Columns()))
		line := make([]byte, 0, 4096)
		for {
			if err := rows.Next(vals); err != nil {
				if err == io.EOF {
					return nil
				}
				return fmt.Errorf("row %d: %w", tl.n+1, err)
			}
			line, err = EncodeValues(line[:0], vals)
			if err != nil {
				return fmt.Errorf("row %d: %w", tl.n+1, err)
			}
			if err := tl.add(ctx, line); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return tl.n, tl.sum, fmt.Errorf("dump %s: %w", t, err)
	}
	return tl.n, tl.sum, nil
}

// tally counts and hashes a dump's encoded lines on their way to emit.
type tally struct {
	n    int64
	sum  uint64
	emit func([]byte) error
}

func (tl *tally) add(ctx context.Context, line []byte) error {
	tl.sum += xxhash.Sum64(line)
	tl.n++
	if tl.n&4095 == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	return tl.emit(line)
}

// selectRows is the query reading t's stored columns, restricted to where (empty: all rows).
func selectRows(t Table, where string) string {
	q := "SELECT " + columnList(t.Columns) + " FROM " + t.Qualified()
	if where != "" {
		q += " WHERE " + where
	}
	return q
}

// EncodeValues appends one row of driver values (text protocol: []byte, int64, uint64, float64, nil) in
// LOAD DATA's format, like EncodeRow.
func EncodeValues(dst []byte, vals []driver.Value) ([]byte, error) {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, '\t')
		}
		switch x := v.(type) {
		case nil:
			dst = append(dst, '\\', 'N')
		case []byte:
			dst = appendEscaped(dst, x)
		case int64:
			dst = strconv.AppendInt(dst, x, 10)
		case uint64:
			dst = strconv.AppendUint(dst, x, 10)
		case float64:
			dst = strconv.AppendFloat(dst, x, 'g', -1, 64)
		case float32:
			dst = strconv.AppendFloat(dst, float64(x), 'g', -1, 32)
		case string:
			dst = appendEscaped(dst, []byte(x))
		default:
			return dst, fmt.Errorf("column %d: unexpected value type %T", i+1, v)
		}
	}
	return append(dst, '\n'), nil
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
		dst = appendEscaped(dst, v)
	}
	return append(dst, '\n')
}

func appendEscaped(dst, v []byte) []byte {
	start := 0
	for j := 0; j < len(v); j++ {
		// Eight bytes at a time while none of them needs an escape (the common case: most values have none).
		for j+8 <= len(v) && !needsEscape8(binary.LittleEndian.Uint64(v[j:])) {
			j += 8
		}
		if j >= len(v) {
			break
		}
		var esc byte
		switch v[j] {
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
	return append(dst, v[start:]...)
}

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// needsEscape8 reports whether any of the eight bytes in x is a backslash, tab, newline or NUL: a byte of
// x^(c*lows) is zero where x holds c, and (y-lows) &^ y & highs is non-zero exactly when y has a zero byte.
func needsEscape8(x uint64) bool {
	hasZero := func(y uint64) uint64 { return (y - lows) &^ y & highs }
	return hasZero(x)|hasZero(x^('\\'*lows))|hasZero(x^('\t'*lows))|hasZero(x^('\n'*lows)) != 0
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

// appendWireRow appends one row read at the protocol level (text fields as the server sent them, nil for
// NULL) in exactly the form EncodeValues gives the driver's values of the same row: integers and floats
// are what the driver's parse and Go's formatting make of them, everything else is the server's bytes.
// Integers the server already wrote in that form (all but ZEROFILL and YEAR '0000') are copied as is.
func appendWireRow(dst []byte, cols []column, fields [][]byte) ([]byte, error) {
	var err error
	for i, v := range fields {
		if i > 0 {
			dst = append(dst, '\t')
		}
		switch c := cols[i]; {
		case v == nil:
			dst = append(dst, '\\', 'N')
		case c.integer() && canonicalInt(v):
			dst = append(dst, v...)
		case c.integer() || c.typ == mysql.MYSQL_TYPE_FLOAT || c.typ == mysql.MYSQL_TYPE_DOUBLE:
			if dst, err = appendNumber(dst, c, string(v)); err != nil {
				return dst, fmt.Errorf("column %d: %w", i+1, err)
			}
		default:
			dst = appendEscaped(dst, v)
		}
	}
	return append(dst, '\n'), nil
}

func (c column) integer() bool {
	switch c.typ {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_YEAR, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG:
		return true
	}
	return false
}

// appendNumber appends what the driver makes of the text s of a numeric column: its parse (as the
// driver's textRows.readRow does it) formatted by strconv, as EncodeValues formats it.
func appendNumber(dst []byte, c column, s string) ([]byte, error) {
	switch {
	case c.typ == mysql.MYSQL_TYPE_FLOAT:
		x, err := strconv.ParseFloat(s, 32)
		return strconv.AppendFloat(dst, float64(float32(x)), 'g', -1, 32), err
	case c.typ == mysql.MYSQL_TYPE_DOUBLE:
		x, err := strconv.ParseFloat(s, 64)
		return strconv.AppendFloat(dst, x, 'g', -1, 64), err
	case c.typ == mysql.MYSQL_TYPE_LONGLONG && c.unsigned:
		x, err := strconv.ParseUint(s, 10, 64)
		return strconv.AppendUint(dst, x, 10), err
	}
	x, err := strconv.ParseInt(s, 10, 64)
	return strconv.AppendInt(dst, x, 10), err
}

// canonicalInt reports whether v is a decimal integer as strconv formats one: an optional minus, no
// leading zero, no "-0".
func canonicalInt(v []byte) bool {
	d := v
	if len(d) > 1 && d[0] == '-' {
		d = d[1:]
		if d[0] == '0' {
			return false
		}
	}
	if len(d) == 0 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// dumpWire is dumpRowsWhere over a protocol-level connection.
func dumpWire(ctx context.Context, c *wireConn, t Table, where string, emit func([]byte) error) (int64, uint64, error) {
	line := make([]byte, 0, 4096)
	tl := tally{emit: emit}
	err := c.query(ctx, selectRows(t, where), func(cols []column, fields [][]byte) error {
		if len(cols) != len(t.Columns) {
			return fmt.Errorf("%d columns, want %d", len(cols), len(t.Columns))
		}
		var err error
		if line, err = appendWireRow(line[:0], cols, fields); err != nil {
			return fmt.Errorf("row %d: %w", tl.n+1, err)
		}
		return tl.add(ctx, line)
	})
	if err != nil {
		return tl.n, tl.sum, fmt.Errorf("dump %s: %w", t, err)
	}
	return tl.n, tl.sum, nil
}
