package localcloudtest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// LockLiveStack serializes the tests that bring a stack up on the live local cloud with the real binary:
// its namespaces are named after the stack (plt-<stack id>-...), machine-wide, so two such tests of one
// stack in packages that `go test ./...` runs in parallel would collide. It holds an flock on
// /run/lock/plinth-live-<stack>.lock (another file than the one operators wrap live test runs in, so the
// two never deadlock) until the test ends.
func LockLiveStack(t testing.TB, stack string) {
	t.Helper()
	dir := "/run/lock"
	if _, err := os.Stat(dir); err != nil {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, "plinth-live-"+stack+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("live stack lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		t.Fatalf("live stack lock %s: %v", f.Name(), err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	})
}
