package mysqlx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// worker is one connection of a snapshot: read at the protocol level (wireConn) when the DSN's network
// allows it, else through the driver (a network registered with the driver, or no DSN given).
type worker struct {
	sql  *sql.Conn
	wire *wireConn
}

// openWorker connects one worker; fallback says why it reads through the driver ("" when it does not).
func openWorker(ctx context.Context, db *sql.DB, dsn string) (w *worker, fallback string, err error) {
	if dsn != "" {
		wc, err := dialWire(ctx, dsn)
		if err == nil {
			return &worker{wire: wc}, "", nil
		}
		fallback = err.Error()
		if !errors.Is(err, ErrNoWire) {
			fallback = "protocol-level connection failed (" + fallback + ")"
		}
	} else {
		fallback = "no DSN"
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, "", err
	}
	return &worker{sql: c}, fallback, nil
}

func (w *worker) exec(ctx context.Context, q string) error {
	if w.wire != nil {
		return w.wire.query(ctx, q, nil)
	}
	_, err := w.sql.ExecContext(ctx, q)
	return err
}

// strings runs q and returns the first row's fields as strings (null: false).
func (w *worker) strings(ctx context.Context, q string, dst []sql.NullString) error {
	if w.sql != nil {
		ptrs := make([]any, len(dst))
		for i := range dst {
			ptrs[i] = &dst[i]
		}
		return w.sql.QueryRowContext(ctx, q).Scan(ptrs...)
	}
	got := false
	err := w.wire.query(ctx, q, func(_ []column, fields [][]byte) error {
		if got {
			return nil
		}
		if len(fields) != len(dst) {
			return fmt.Errorf("%d columns, want %d", len(fields), len(dst))
		}
		for i, f := range fields {
			dst[i] = sql.NullString{String: string(f), Valid: f != nil}
		}
		got = true
		return nil
	})
	if err == nil && !got {
		err = sql.ErrNoRows
	}
	return err
}

func (w *worker) dump(ctx context.Context, t Table, where string, emit func([]byte) error) (int64, uint64, error) {
	if w.wire != nil {
		return dumpWire(ctx, w.wire, t, where, emit)
	}
	return dumpRowsWhere(ctx, w.sql, t, where, emit)
}

// close rolls back and releases the connection.
func (w *worker) close() {
	if w.wire != nil {
		w.wire.close()
		return
	}
	_, _ = w.sql.ExecContext(context.Background(), "ROLLBACK")
	w.sql.Close()
}
