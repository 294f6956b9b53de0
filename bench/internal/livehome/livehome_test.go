package livehome

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewAndEnv(t *testing.T) {
	t.Setenv("PLINTH", "/opt/plinth")
	t.Setenv("PLINTH_PULUMI", "")
	h, err := New("home")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if h.Plinth != "/opt/plinth" || h.Pulumi != filepath.Join(wd, "bin/pulumi") || h.Dir != filepath.Join(wd, "home") || h.Project != wd {
		t.Fatalf("New: %+v", h)
	}
	env := strings.Join(h.Env(), "\n")
	for _, want := range []string{"PLINTH_HOME=" + h.Dir, "PLINTH_CLOUD=local", "PULUMI_HOME=" + filepath.Join(h.Dir, "pulumi-home")} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
}

func TestRunAndMemory(t *testing.T) {
	h := Home{Dir: t.TempDir(), Plinth: "/bin/sh", Project: t.TempDir()}
	out, err := h.Run("-c", "echo $PLINTH_HOME")
	if err != nil || strings.TrimSpace(out) != h.Dir {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if _, err := h.Run("-c", "echo boom; exit 4"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a failing run: %v", err)
	}
	if _, err := h.Memory(nil); err == nil {
		t.Fatal("Memory without a pid file: no error")
	}
	if err := os.MkdirAll(filepath.Join(h.Dir, "live"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.PidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := h.Memory(nil)
	if err != nil || b.RSS <= 0 || len(b.Processes) < 1 {
		t.Fatalf("Memory of this process: %+v, %v", b, err)
	}
	if err := h.Destroy("x"); err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Fatalf("Destroy with a live pid file left: %v", err)
	}
}

func TestUntilAndTail(t *testing.T) {
	n := 0
	if err := Until(5*time.Second, func() bool { n++; return n == 3 }); err != nil || n != 3 {
		t.Fatalf("Until: %v after %d", err, n)
	}
	if err := Until(150*time.Millisecond, func() bool { return false }); err == nil {
		t.Fatal("Until never true: no error")
	}
	if got := Tail(strings.Repeat("a", 2000) + "end"); len(got) != 1500 || !strings.HasSuffix(got, "end") {
		t.Fatalf("Tail: %d bytes", len(got))
	}
	if _, err := HTTPSClient(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("HTTPSClient of a missing CA: no error")
	}
}
