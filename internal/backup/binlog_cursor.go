package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The binlog streamer's cursor: the next segment's number and the GTID set it starts after, kept in a local
// file beside the streamer and written after every segment it commits. The vault decides (binlog_head.go):
// the cursor only says where to start looking for the chain's head, and whether this streamer wrote that head
// (then it leads again at once after a restart instead of waiting out the lease). A cursor behind the head
// (another worker took over) makes the streamer stand by; a cursor with no chain in the store starts a new
// chain at the cursor's GTID set.

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
