package backup

import (
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// Which backups a restore to T may start from: by the snapshot's time when recorded (second precision: up
// to the end of T's second), else conservatively by the completion time, never by the start.
func TestConsistentBy(t *testing.T) {
	T := time.Date(2026, 12, 3, 14, 0, 10, 0, time.UTC)
	start, done := T.Add(-5*time.Second), T.Add(5*time.Second)
	for _, c := range []struct {
		name string
		at   time.Time
		done time.Time
		want bool
	}{
		{"locked before T", T.Add(-2 * time.Second), done, true},
		{"locked in T's second", T.Add(999 * time.Millisecond), done, true},
		{"locked after T's second", T.Add(time.Second), done, false},
		{"locked after T, started before", T.Add(3 * time.Second), done, false},
		{"old manifest completed after T", time.Time{}, done, false},
		{"old manifest completed in T's second", time.Time{}, T.Add(500 * time.Millisecond), true},
		{"old manifest completed before T", time.Time{}, T.Add(-time.Second), true},
	} {
		m := &manifest.Manifest{StartedAt: start, CompletedAt: c.done, Snapshot: manifest.Position{At: c.at}}
		if got := consistentBy(m, T); got != c.want {
			t.Errorf("%s: consistentBy = %v, want %v", c.name, got, c.want)
		}
	}
}
