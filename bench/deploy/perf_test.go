package deploybench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// perfRound records the whole machine with `perf record -a -g` (Linux perf, root) into
// $BENCH_PERF/<side>-hosts-<n>-round-<i>.data when BENCH_PERF names a directory: where the CPU went while one
// side ran, every process included (plinth, the hosts' sshd, their shells and receivers). `perf report -i FILE
// --sort comm` compares plinth's round with the parallel peer's.
func perfRound(b *testing.B, side string, n, i int) (stop func()) {
	dir := os.Getenv("BENCH_PERF")
	if dir == "" {
		return func() {}
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-hosts-%d-round-%d.data", side, n, i))
	cmd := exec.Command("perf", "record", "-a", "-g", "-F", "997", "-q", "-o", out)
	if err := cmd.Start(); err != nil {
		b.Fatalf("perf record: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // perf's own start-up is not the round's
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}
}
