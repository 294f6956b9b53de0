package live

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/internal/proctree"
)

// Supervisor runs the live cloud's processes and knows each by its pid: nothing is found or stopped by name.
// A process started with Restart is started again (after a second, like systemd's Restart=always with
// RestartSec=1) when it exits without being stopped.
type Supervisor struct {
	mu    sync.Mutex
	procs map[string]*proc
}

type proc struct {
	name    string
	newCmd  func() (*exec.Cmd, error)
	restart bool
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
	exitErr error
}

// NewSupervisor returns an empty supervisor.
func NewSupervisor() *Supervisor { return &Supervisor{procs: map[string]*proc{}} }

// ProcessInfo is one supervised process.
type ProcessInfo struct {
	Name    string `json:"name"`
	Pid     int    `json:"pid"`
	Running bool   `json:"running"`
}

// Start runs the command newCmd builds under name (a name already running is an error). The command's
// stdout and stderr are the caller's to set.
func (s *Supervisor) Start(name string, restart bool, newCmd func() (*exec.Cmd, error)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.procs[name]; ok && p.running() {
		return 0, fmt.Errorf("supervisor: %s already runs as pid %d", name, p.cmd.Process.Pid)
	}
	p := &proc{name: name, newCmd: newCmd, restart: restart}
	if err := s.startLocked(p); err != nil {
		return 0, err
	}
	s.procs[name] = p
	return p.cmd.Process.Pid, nil
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (s *Supervisor) startLocked(p *proc) error {
	cmd, err := p.newCmd()
	if err != nil {
		return fmt.Errorf("supervisor: %s: %w", p.name, err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("supervisor: start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.stopped = cmd, done, false
	go s.wait(p, cmd, done)
	return nil
}

func (s *Supervisor) wait(p *proc, cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	s.mu.Lock()
	p.exitErr = err
	close(done)
	again := p.restart && !p.stopped && s.procs[p.name] == p
	s.mu.Unlock()
	if !again {
		return
	}
	time.Sleep(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs[p.name] == p && !p.stopped && !p.running() {
		_ = s.startLocked(p) // an error leaves it stopped; Status shows it
	}
}

// Stop ends the process named name: SIGTERM to it, its process group and every process below it (sshd's
// sessions run in their own sessions), SIGKILL after grace. A name that is not running is not an error.
func (s *Supervisor) Stop(name string, grace time.Duration) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	if ok {
		p.stopped = true
	}
	s.mu.Unlock()
	if !ok || p.cmd == nil {
		return nil
	}
	return terminate(p.cmd.Process.Pid, p.done, grace)
}

// Forget stops name and drops it.
func (s *Supervisor) Forget(name string, grace time.Duration) error {
	err := s.Stop(name, grace)
	s.mu.Lock()
	delete(s.procs, name)
	s.mu.Unlock()
	return err
}

// Restart stops name and starts it again with the same command.
func (s *Supervisor) Restart(name string, grace time.Duration) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("supervisor: %s: not known", name)
	}
	if err := s.Stop(name, grace); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(p)
}

// Running says whether name runs, and its pid.
func (s *Supervisor) Running(name string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	if !ok || !p.running() {
		return 0, false
	}
	return p.cmd.Process.Pid, true
}

// Processes lists every process the supervisor knows, by name.
func (s *Supervisor) Processes() []ProcessInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProcessInfo, 0, len(s.procs))
	for _, n := range sortedKeys(s.procs) {
		p := s.procs[n]
		info := ProcessInfo{Name: n, Running: p.running()}
		if p.cmd != nil && p.cmd.Process != nil {
			info.Pid = p.cmd.Process.Pid
		}
		out = append(out, info)
	}
	return out
}

// StopAll stops every process, the ones started last first, and forgets them.
func (s *Supervisor) StopAll(grace time.Duration) error {
	s.mu.Lock()
	names := sortedKeys(s.procs)
	s.mu.Unlock()
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		if err := s.Forget(names[i], grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func terminate(pid int, done <-chan struct{}, grace time.Duration) error {
	below := map[int]uint64{} // every process signalled below pid, by its start time
	signal := func(sig syscall.Signal) {
		for _, d := range proctree.Descendants(pid) {
			if _, seen := below[d]; !seen {
				if t, ok := proctree.StartTime(d); ok {
					below[d] = t
				}
			}
			_ = syscall.Kill(d, sig)
		}
		_ = syscall.Kill(-pid, sig)
		_ = syscall.Kill(pid, sig)
	}
	signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		signal(syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("supervisor: pid %d did not exit after SIGKILL", pid)
		}
	}
	// Processes that outlived their parent (sessions; a server below a shell, still shutting down) had the
	// same signal: wait for them too, then SIGKILL what is left (the same processes: pid and start time).
	return reap(pid, below, grace)
}

// reap waits up to grace for the processes below (pid -> start time) to exit, SIGKILLs those still running
// and waits for them: when Stop returns, nothing the process started runs.
func reap(pid int, below map[int]uint64, grace time.Duration) error {
	alive := func() []int {
		var out []int
		for d, t := range below {
			if proctree.Alive(d, t) {
				out = append(out, d)
			}
		}
		return out
	}
	deadline := time.Now().Add(grace)
	killed := false
	for left := alive(); len(left) > 0; left = alive() {
		switch {
		case !killed && time.Now().After(deadline):
			for _, d := range left {
				_ = syscall.Kill(d, syscall.SIGKILL)
			}
			killed, deadline = true, time.Now().Add(10*time.Second)
		case killed && time.Now().After(deadline):
			return fmt.Errorf("supervisor: processes %v below pid %d did not exit after SIGKILL", left, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
