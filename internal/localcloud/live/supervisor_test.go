package live

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/proctree"
)

// TestStopWaitsForWhatOutlivesItsParent: a supervised shell whose child outlives it and takes its time to
// exit on SIGTERM (a server shutting down below a session): when Stop returns the child is gone too, and a
// child that ignores SIGTERM is SIGKILLed after the grace.
func TestStopWaitsForWhatOutlivesItsParent(t *testing.T) {
	for _, tc := range []struct{ name, trap string }{
		{"slow", `trap "sleep 0.4; exit 0" TERM`},
		{"deaf", `trap "" TERM`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSupervisor()
			// The parent exits on SIGTERM at once; its child (its own session, so not in its process group)
			// handles SIGTERM as the case says.
			script := `setsid sh -c '` + tc.trap + `; while :; do sleep 0.05; done' & echo $! ; wait`
			pid, err := s.Start("parent", false, func() (*exec.Cmd, error) {
				cmd := exec.Command("sh", "-c", script)
				return cmd, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var kids []int
			for i := 0; i < 200 && len(kids) == 0; i++ {
				kids = proctree.Descendants(pid)
				time.Sleep(10 * time.Millisecond)
			}
			if len(kids) == 0 {
				t.Fatalf("no child below %d", pid)
			}
			time.Sleep(100 * time.Millisecond) // the child's trap is set
			starts := map[int]uint64{}
			for _, k := range kids {
				if st, ok := proctree.StartTime(k); ok {
					starts[k] = st
				}
			}
			begin := time.Now()
			if err := s.Stop("parent", 1500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			for k, st := range starts {
				if proctree.Alive(k, st) {
					t.Errorf("process %d (%s) still runs after Stop returned in %s", k, cmdline(k), time.Since(begin))
				}
			}
		})
	}
}

func cmdline(pid int) string {
	b, _ := exec.Command("cat", "/proc/"+strconv.Itoa(pid)+"/cmdline").Output()
	return strings.ReplaceAll(string(b), "\x00", " ")
}
