package backup

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

func TestHashLinesMatchesPerRowHashes(t *testing.T) {
	rows := []string{"a\tb\n", strings.Repeat("x", 3<<20) + "\n", "\\N\t1\n", strings.Repeat("y", 1<<20-1) + "\n"}
	var want uint64
	for _, r := range rows {
		want += mysqlx.LineHash([]byte(r))
	}
	n, sum, err := hashLines(bytes.NewReader([]byte(strings.Join(rows, ""))))
	if err != nil || n != 4 || sum != want {
		t.Fatalf("hashLines = %d %x %v, want 4 %x", n, sum, err, want)
	}
	if _, _, err := hashLines(strings.NewReader("a\nunterminated")); err == nil {
		t.Fatal("a stream ending inside a row was accepted")
	}
}
