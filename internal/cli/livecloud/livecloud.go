// Package livecloud is the CLI's side of the live local cloud (internal/localcloud/live): the server that
// `--cloud local` engine commands start on demand (os.Executable, setsid, `plinth local serve`), the hook that
// forwards the engine's changes to it, and the Factory's cmdutil.LocalCloud behind `plinth local`.
package livecloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/provision"
)

// EnvOptIn is the variable that turns the live cloud off for `--cloud local` (0, false, no or off): the
// live cloud is on by default, and where the machine cannot run it (not root, no namespaces) `--cloud local`
// says so in one line and keeps the bookkeeping cloud. Tests and CI jobs that run `up --cloud local` as root
// but must not start namespaces set it to 0.
const EnvOptIn = "PLINTH_LOCAL_LIVE"

// Cloud is the live cloud of one plinth home: its server's directory and how to start it.
type Cloud struct {
	// Dir holds the server's socket, pid file, log, operator key and platforms (<home>/live).
	Dir string
	// Executable is the plinth binary that runs `local serve` (default os.Executable).
	Executable func() (string, error)
	// Check says whether the machine can run the live cloud (default live.Check).
	Check func() error
	// StartTimeout bounds the wait for a started server to answer (default 30 s).
	StartTimeout time.Duration
}

// New returns the live cloud of the home getenv names ($PLINTH_HOME, else provision.DefaultHome).
func New(getenv func(string) string) (*Cloud, error) {
	home := getenv("PLINTH_HOME")
	if home == "" {
		h, err := provision.DefaultHome()
		if err != nil {
			return nil, err
		}
		home = h
	}
	return &Cloud{Dir: filepath.Join(home, "live"), Executable: os.Executable, Check: live.Check, StartTimeout: 30 * time.Second}, nil
}

// Enabled reports whether the live cloud is on: unless getenv sets EnvOptIn to 0, false, no or off.
func Enabled(getenv func(string) string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(EnvOptIn))) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

func (c *Cloud) client() *live.Client { return live.NewClient(live.SocketPath(c.Dir)) }
func (c *Cloud) pidFile() string      { return filepath.Join(c.Dir, "live.pid") }
func (c *Cloud) logFile() string      { return filepath.Join(c.Dir, "serve.log") }

// forget removes what a stopped stack kept for a restart: its allocation and its hosts' directories.
func (c *Cloud) forget(stack string) error {
	dir := filepath.Join(c.Dir, "stacks", live.StackID(stack))
	for _, p := range []string{filepath.Join(dir, live.AllocationFile), filepath.Join(dir, "hosts")} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("live cloud: %w", err)
		}
	}
	return nil
}

// localCloudDirFile names the local cloud directory the server last ran on.
func (c *Cloud) localCloudDirFile() string { return filepath.Join(c.Dir, "localcloud-dir") }
func (c *Cloud) running(ctx context.Context) bool {
	_, err := c.client().Status(ctx)
	return err == nil
}

// Hooks is the Factory's LocalCloudLive: nil when getenv turns the live cloud off; where live.Check fails it writes its one
// line to errOut and the bookkeeping cloud goes on alone.
func Hooks(getenv func(string) string, errOut io.Writer) func(string) ([]localcloud.Hook, error) {
	return func(localCloudDir string) ([]localcloud.Hook, error) {
		if !Enabled(getenv) {
			return nil, nil
		}
		c, err := New(getenv)
		if err != nil {
			return nil, err
		}
		return hooksFor(c, errOut, localCloudDir)
	}
}

func hooksFor(c *Cloud, errOut io.Writer, localCloudDir string) ([]localcloud.Hook, error) {
	if err := c.Check(); err != nil {
		fmt.Fprintf(errOut, "note: %v\n", err)
		return nil, nil
	}
	return []localcloud.Hook{&hook{cloud: c, localCloudDir: localCloudDir}}, nil
}

// Ensure starts the server (`plinth local serve` in its own session, output to <Dir>/serve.log) unless one
// answers, and waits until it does.
func (c *Cloud) Ensure(ctx context.Context, localCloudDir string) error {
	if c.running(ctx) {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("live cloud: %w", err)
	}
	// `plinth local start` starts the server again on the same local cloud.
	if err := os.WriteFile(c.localCloudDirFile(), []byte(localCloudDir+"\n"), 0o600); err != nil {
		return fmt.Errorf("live cloud: %w", err)
	}
	exe, err := c.Executable()
	if err != nil {
		return fmt.Errorf("live cloud: plinth executable: %w", err)
	}
	logf, err := os.OpenFile(c.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("live cloud: %w", err)
	}
	defer logf.Close()
	closeInheritedOnExec()
	cmd := exec.Command(exe, "local", "serve", "--local-cloud-dir", localCloudDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("live cloud: start %s local serve: %w", exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(c.StartTimeout)
	for {
		if c.running(ctx) {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("live cloud: server (pid %d) exited: %v: %s", cmd.Process.Pid, err, logTail(c.logFile()))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("live cloud: server (pid %d) did not answer on %s within %s", cmd.Process.Pid, live.SocketPath(c.Dir), c.StartTimeout)
		}
	}
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = s[len(s)-400:]
	}
	return s
}

// Serve implements cmdutil.LocalCloud: the server itself, and beside it the stacks' release escrow (an S3
// emulator on the loopback, live.RunEscrow) for as long as it runs.
func (c *Cloud) Serve(ctx context.Context, localCloudDir string) error {
	if localCloudDir == "" {
		return errors.New("live cloud: no local cloud directory")
	}
	cfg := live.ServerConfig{Dir: c.Dir, LocalCloudDir: localCloudDir}
	// The worker hosts' backup units run this plinth (bind-mounted read-only).
	if exe, err := os.Executable(); err == nil {
		cfg.PlinthBinary = exe
	}
	for _, e := range []struct {
		name string
		d    *time.Duration
	}{{live.EnvBackupInterval, &cfg.BackupInterval}, {live.EnvBinlogSegmentAge, &cfg.BinlogSegmentAge}} {
		if v := os.Getenv(e.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return fmt.Errorf("live cloud: %s=%q: want a duration of at least 1s", e.name, v)
			}
			*e.d = d
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	escrow := make(chan error, 1)
	go func() { escrow <- live.RunEscrow(ctx, c.Dir) }()
	err := live.RunServer(ctx, cfg)
	cancel()
	return errors.Join(err, <-escrow)
}

// ErrNothingToStart: `plinth local start` found no stack that ran live on this plinth home.
var ErrNothingToStart = errors.New("the live local cloud has nothing to start: no stack ran live here (plinth up --stack S --cloud local starts one)")

// Start implements cmdutil.LocalCloud: it starts the server (on the local cloud it last ran on) unless it
// runs, and brings back every stack that has an allocation, at the addresses and ports it had.
func (c *Cloud) Start(ctx context.Context) (cmdutil.LocalStatus, error) {
	if err := c.Check(); err != nil {
		return cmdutil.LocalStatus{}, err
	}
	b, err := os.ReadFile(c.localCloudDirFile())
	if errors.Is(err, os.ErrNotExist) {
		return cmdutil.LocalStatus{}, ErrNothingToStart
	}
	if err != nil {
		return cmdutil.LocalStatus{}, fmt.Errorf("live cloud: %w", err)
	}
	stacks, err := live.AllocatedStacks(filepath.Join(c.Dir, "stacks"))
	if err != nil {
		return cmdutil.LocalStatus{}, fmt.Errorf("live cloud: %w", err)
	}
	if len(stacks) == 0 {
		return cmdutil.LocalStatus{}, ErrNothingToStart
	}
	if err := c.Ensure(ctx, strings.TrimSpace(string(b))); err != nil {
		return cmdutil.LocalStatus{}, err
	}
	rep, err := c.client().Resume(ctx, "")
	if err != nil {
		return cmdutil.LocalStatus{}, err
	}
	return statusOf(rep), nil
}

// Status implements cmdutil.LocalCloud.
func (c *Cloud) Status(ctx context.Context) (cmdutil.LocalStatus, error) {
	rep, err := c.client().Status(ctx)
	if err != nil {
		if !c.answersNot() {
			return cmdutil.LocalStatus{Stacks: []cmdutil.LocalStackStatus{}}, err
		}
		return cmdutil.LocalStatus{Stacks: []cmdutil.LocalStackStatus{}}, nil
	}
	return statusOf(rep), nil
}

func statusOf(rep live.StatusReport) cmdutil.LocalStatus {
	st := cmdutil.LocalStatus{Running: true, Stacks: []cmdutil.LocalStackStatus{}}
	for _, s := range rep.Stacks {
		ls := cmdutil.LocalStackStatus{Stack: s.Stack, URL: s.URL, CAFile: s.CAFile, Bastion: s.Bastion, Hosts: []cmdutil.LocalHostStatus{}}
		for _, h := range s.Hosts {
			ls.Hosts = append(ls.Hosts, cmdutil.LocalHostStatus{Name: h.Name, Tier: h.Tier, Address: h.Address, State: h.State})
		}
		ls.Databases, ls.Caches, ls.Search = []cmdutil.LocalDatabaseStatus{}, []cmdutil.LocalCacheStatus{}, s.Search
		for _, d := range s.Databases {
			ls.Databases = append(ls.Databases, cmdutil.LocalDatabaseStatus{Name: d.Name, Role: d.Role, Address: d.Address, LagSeconds: d.LagSeconds})
		}
		for _, c := range s.Caches {
			ls.Caches = append(ls.Caches, cmdutil.LocalCacheStatus{Name: c.Name, Role: c.Role, Address: c.Address})
		}
		if v := s.Vault; v != nil {
			ls.Vault = &cmdutil.LocalVaultStatus{Bucket: v.Bucket, URL: v.URL, PlatformEndpoint: v.PlatformEndpoint}
		}
		st.Stacks = append(st.Stacks, ls)
	}
	return st
}

// answersNot reports that no server listens (no socket, or nobody accepts on it).
func (c *Cloud) answersNot() bool {
	_, err := os.Stat(live.SocketPath(c.Dir))
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return !c.running(ctx)
}

// Stop implements cmdutil.LocalCloud: it asks the server to stop and waits until its pid file is gone (the
// server removes it after every platform stopped).
func (c *Cloud) Stop(ctx context.Context) (bool, error) {
	if err := c.client().Stop(ctx); err != nil {
		if c.answersNot() {
			return false, nil
		}
		return false, err
	}
	for {
		if _, err := os.Stat(c.pidFile()); errors.Is(err, os.ErrNotExist) {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("live cloud: the server did not exit (%s remains): %w", c.pidFile(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// closeInheritedOnExec marks every descriptor above stderr close-on-exec: the server outlives this command,
// and must not keep what this command inherited open (a `flock LOCK plinth up ...` would stay locked as
// long as the server runs). Go opens its own descriptors close-on-exec already.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
