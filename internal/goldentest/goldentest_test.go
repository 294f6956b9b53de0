package goldentest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures; Fatal ends only the goroutine check runs Check in.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.failed = append(r.failed, "error") }
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal() }
func (r *recorder) Fatal(args ...any) {
	r.failed = append(r.failed, "fatal")
	runtime.Goexit()
}

// check runs Check on its own goroutine (as t.Run would) and returns the failures it recorded.
func check(t *testing.T, update bool, name, got string) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, update, name, got)
	}()
	<-done
	return r.failed
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd) //nolint:errcheck

	if f := check(t, false, "missing.txt", "x"); strings.Join(f, ",") != "fatal" {
		t.Errorf("missing golden file: failures %v, want one fatal", f)
	}
	if f := check(t, true, "sub/out.txt", "hello\n"); len(f) != 0 {
		t.Errorf("update: failures %v", f)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "testdata", "sub", "out.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("update wrote %q, %v", b, err)
	}
	if f := check(t, false, "sub/out.txt", "hello\n"); len(f) != 0 {
		t.Errorf("same content: failures %v", f)
	}
	if f := check(t, false, "sub/out.txt", "changed\n"); strings.Join(f, ",") != "error" {
		t.Errorf("changed content: failures %v, want one error", f)
	}
}
