package proctree

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestDescendantsFindsGrandchildren(t *testing.T) {
	// sh starts sleep as its child; the test process is their ancestor.
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var kids []int
	for i := 0; i < 200 && len(kids) < 2; i++ {
		kids = Descendants(os.Getpid())
		if len(kids) < 2 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !slices.Contains(kids, cmd.Process.Pid) || len(Descendants(cmd.Process.Pid)) != 1 {
		t.Fatalf("descendants of the test %v, of sh %v", kids, Descendants(cmd.Process.Pid))
	}
	for _, k := range Descendants(cmd.Process.Pid) {
		if pp, ok := Parent(k); !ok || pp != cmd.Process.Pid {
			t.Errorf("parent of %d = %d %v, want sh %d", k, pp, ok, cmd.Process.Pid)
		}
	}
	if _, ok := Parent(-1); ok {
		t.Error("Parent(-1) found a process")
	}
}

// TestAliveFollowsOneProcess: a running process is alive under its start time, not under another; once it
// exited (and was reaped) it is not.
func TestAliveFollowsOneProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	start, ok := StartTime(pid)
	if !ok || !Alive(pid, start) || Alive(pid, start+1) {
		t.Fatalf("pid %d start %d ok %v: want alive under its own start time only", pid, start, ok)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if Alive(pid, start) {
		t.Errorf("pid %d alive after it was killed and reaped", pid)
	}
	if _, ok := StartTime(-1); ok {
		t.Error("a start time for pid -1")
	}
}
