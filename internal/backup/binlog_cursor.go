package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The binlog streamer's cursor: the next segment's number and the GTID set it starts after, kept in a local
// file beside the streamer. A streamer running as the vault's writer identity may create objects but never
// list or read them (the worker tier's binlog service), so it cannot learn from the store where it stopped:
// it resumes from its cursor, written after every committed segment. A streamer that can list the store
// resumes from the store and keeps the cursor up to date.

// binlogCursor is the cursor file's content.
type binlogCursor struct {
	Seq  int64  `json:"seq"`
	GTID string `json:"gtid"`
}

// readCursor reads path; ok is false when it does not exist.
func readCursor(path string) (binlogCursor, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return binlogCursor{}, false, nil
	}
	if err != nil {
		return binlogCursor{}, false, fmt.Errorf("binlog cursor: %w", err)
	}
	var c binlogCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Seq < 1 {
		return binlogCursor{}, false, fmt.Errorf("binlog cursor %s: want {\"seq\": N >= 1, \"gtid\": SET}", path)
	}
	return c, true, nil
}

// writeCursor replaces path atomically (0600).
func writeCursor(path string, c binlogCursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cursor-*")
	if err != nil {
		return fmt.Errorf("binlog cursor: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("binlog cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("binlog cursor: %w", err)
	}
	return nil
}

// cursorResume is where a streamer that cannot list the store (listErr) continues: its cursor; without
// one, o.From; without that, a new chain at the server's current position (o.Current). A new chain starts at
// segment 1: should the vault already hold one (the cursor was lost), its index cannot be overwritten by the
// writer and the streamer stops saying so.
func cursorResume(ctx context.Context, o BinlogOptions, listErr error) (int64, string, error) {
	c, ok, err := readCursor(o.Cursor)
	switch {
	case err != nil:
		return 0, "", err
	case ok:
		o.Log.printf("binlog: the store cannot be listed (%v): resuming from the cursor %s", listErr, o.Cursor)
		return c.Seq, c.GTID, nil
	case o.From != "":
		return 1, o.From, nil
	case o.Current != nil:
		g, err := o.Current(ctx)
		if err != nil {
			return 0, "", err
		}
		o.Log.printf("binlog: the store cannot be listed and %s holds no cursor: a new chain starts at the server's GTID %q", o.Cursor, g)
		return 1, g, nil
	}
	return 0, "", fmt.Errorf("%w (and no cursor in %s, no --from-gtid)", listErr, o.Cursor)
}
