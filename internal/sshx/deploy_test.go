package sshx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// The deploy engine end to end against real sshd hosts behind a real sshd bastion.

func TestRollingDeployKeepsNHealthy(t *testing.T) {
	c := newCluster(t, 4)
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	c.deploy(t, r, v1)
	for i := range c.hosts {
		if got := c.serving(i); got != "v1" {
			t.Fatalf("host %d serves %q after the first deploy", i, got)
		}
	}

	prober := deploytest.StartProber(5*time.Millisecond, c.ports, "v1", "v2")
	out := c.deploy(t, r, v2)
	minHealthy, sweeps, worst := prober.Stop()
	// N+1 with 4 hosts: N = 3 must answer /health with a valid version at every moment.
	if minHealthy < 3 {
		t.Fatalf("only %d of 4 hosts healthy at one moment (%v) over %d sweeps", minHealthy, worst, sweeps)
	}
	if sweeps < 10 {
		t.Fatalf("prober made only %d sweeps: not watching the whole deploy", sweeps)
	}
	t.Logf("min healthy %d/4 over %d sweeps", minHealthy, sweeps)
	for i := range c.hosts {
		if got := c.serving(i); got != "v2" {
			t.Fatalf("host %d serves %q", i, got)
		}
		if got := c.current(t, i); got != "v2" {
			t.Fatalf("host %d current -> %q", i, got)
		}
		// The previous release stays, complete, as the rollback target.
		if _, err := os.Stat(filepath.Join(c.hosts[i].Root, "releases", "v1", ".complete")); err != nil {
			t.Fatalf("host %d lost v1: %v", i, err)
		}
	}
	// Every host got a (zstd-compressed: the hosts have zstd) copy.
	if out.BytesSent < 4*v2.Size/5 || out.BytesSent > 4*v2.Size {
		t.Fatalf("sent %d bytes for 4 hosts of a %d-byte artifact", out.BytesSent, v2.Size)
	}

	// Re-deploying the same artifact (same or another version) sends nothing.
	again := c.deploy(t, r, v2)
	v2b := v2
	v2b.Version = "v2b"
	cfg := deploytest.TierConfig()
	cfg.Health.IgnoreVersion = true // the same binary still says v2
	other, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), c.plan(t, v2b, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if again.BytesSent != 0 || other.BytesSent != 0 {
		t.Fatalf("re-deploy sent %d and %d bytes, want 0", again.BytesSent, other.BytesSent)
	}
}

func TestFailedHealthCheckRollsBackTheBatch(t *testing.T) {
	c := newCluster(t, 3)
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	bad := deploytest.Release(t, deploytest.BuildApp(t, "v2-bad", false, 0), "v2-bad")
	c.deploy(t, r, v1)

	cfg := deploytest.TierConfig()
	cfg.Health.Retries = 8
	_, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), c.plan(t, bad, cfg))
	var he *deploy.HostError
	if !errors.As(err, &he) || he.Host != "app-1" || he.Step != deploy.StepHealth {
		t.Fatalf("want a health failure naming app-1, got %v", err)
	}
	if !strings.Contains(err.Error(), "deploy app-1") {
		t.Fatalf("error does not name the host: %v", err)
	}
	if !strings.Contains(he.Logs, "simulated failure of v2-bad") {
		t.Fatalf("the service's last log lines are not shown: %q", he.Logs)
	}
	for i := range c.hosts {
		if got := c.serving(i); got != "v1" {
			t.Fatalf("host %d serves %q after the rollback", i, got)
		}
		if got := c.current(t, i); got != "v1" {
			t.Fatalf("host %d current -> %q", i, got)
		}
	}
}

// killingRunner kills a host's sshd just before a step reaches it.
type killingRunner struct {
	deploy.Runner
	host, script string
	kill         func()
	once         sync.Once
}

func (k *killingRunner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	if h.Name == k.host && len(c.Argv) > 3 && c.Argv[3] == k.script {
		k.once.Do(k.kill)
	}
	return k.Runner.Run(ctx, h, c)
}

func TestHostWhoseSSHDDiesMidDeploy(t *testing.T) {
	c := newCluster(t, 3)
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	c.deploy(t, r, v1)

	kr := &killingRunner{Runner: r, host: "app-2", script: "plinth-switch", kill: c.hosts[1].Kill}
	out, err := (&deploy.Executor{Runner: kr}).Execute(context.Background(), c.plan(t, v2, deploytest.TierConfig()))
	var he *deploy.HostError
	if !errors.As(err, &he) || he.Host != "app-2" || he.Step != deploy.StepSwitch {
		t.Fatalf("want a switch failure naming app-2, got %v", err)
	}
	if !strings.Contains(err.Error(), "deploy app-2") || !strings.Contains(err.Error(), c.hosts[1].Addr) {
		t.Fatalf("error does not name the host and its address: %v", err)
	}
	// Batch 1 (app-1) completed; batch 2 (app-2) failed and still serves v1; app-3 was never touched.
	if got := c.serving(0); got != "v2" {
		t.Fatalf("app-1 serves %q", got)
	}
	if got := c.serving(1); got != "v1" {
		t.Fatalf("app-2 serves %q", got)
	}
	if got, cur := c.serving(2), c.current(t, 2); got != "v1" || cur != "v1" {
		t.Fatalf("app-3 serves %q, current %q: it should be untouched", got, cur)
	}
	if len(out.Switched) != 1 || out.Switched[0] != "app-1" {
		t.Fatalf("switched %v", out.Switched)
	}
	// The staged release is complete on app-3 (staging ran everywhere first), so a retry is cheap.
	if _, err := os.Stat(filepath.Join(c.hosts[2].Root, "releases", "v2", ".complete")); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentDeployIsLockedOut(t *testing.T) {
	c := newCluster(t, 1)
	r1, r2 := c.runner(t), c.runner(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []deploy.Runner{r1, r2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.state(r).Acquire(ctx, deploy.LockInfo{ID: []string{"aaaa", "bbbb"}[i],
				Holder: []string{"alice@laptop", "bob@ci"}[i], Stack: "staging", Tier: "app", Version: "v9", Action: "deploy"})
		}()
	}
	wg.Wait()
	var winner, loser int
	switch {
	case errs[0] == nil && errs[1] != nil:
		winner, loser = 0, 1
	case errs[1] == nil && errs[0] != nil:
		winner, loser = 1, 0
	default:
		t.Fatalf("want exactly one lock holder: %v", errs)
	}
	var le *deploy.LockedError
	holder := []string{"alice@laptop", "bob@ci"}[winner]
	if !errors.As(errs[loser], &le) || le.Holder.Holder != holder || !strings.Contains(errs[loser].Error(), holder) {
		t.Fatalf("refusal does not name the holder %s: %v", holder, errs[loser])
	}
	st, err := c.state(r1).Status(ctx, "staging")
	if err != nil || st == nil || st.Holder != holder {
		t.Fatalf("status: %+v %v", st, err)
	}
	// A deploy session is refused while the lock is held.
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	s := &deploy.Session{State: c.state(r2), Exec: &deploy.Executor{Runner: r2}, Holder: "carol@desk"}
	if _, err := s.Run(ctx, []*deploy.Plan{c.plan(t, v1, deploytest.TierConfig())}); !errors.As(err, &le) {
		t.Fatalf("session ran under someone else's lock: %v", err)
	}
	// Releasing with another id is refused; the holder's id (or a forced release) frees it.
	if err := c.state(r1).Release(ctx, "staging", "cccc"); !errors.As(err, &le) {
		t.Fatalf("release with a wrong id: %v", err)
	}
	if err := c.state(r1).Release(ctx, "staging", []string{"aaaa", "bbbb"}[winner]); err != nil {
		t.Fatal(err)
	}
	if st, err := c.state(r1).Status(ctx, "staging"); err != nil || st != nil {
		t.Fatalf("status after release: %+v %v", st, err)
	}
	// Now the session runs, and the audit log on the bastion says who deployed what.
	if _, err := s.Run(ctx, []*deploy.Plan{c.plan(t, v1, deploytest.TierConfig())}); err != nil {
		t.Fatal(err)
	}
	recs, err := c.state(r1).History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Result != "started" || recs[1].Result != "succeeded" || recs[1].Holder != "carol@desk" || recs[1].Version != "v1" {
		t.Fatalf("audit log: %+v", recs)
	}
	if st, _ := c.state(r1).Status(ctx, "staging"); st != nil {
		t.Fatalf("session left the lock held: %+v", st)
	}
}

func TestRollbackGoesOnlyToACompleteRelease(t *testing.T) {
	c := newCluster(t, 2)
	r := c.runner(t)
	ctx := context.Background()
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		c.deploy(t, r, deploytest.Release(t, deploytest.BuildApp(t, v, true, 0), v))
	}
	// keep 3: v1 pruned; v2 v3 v4 remain.
	if _, err := os.Stat(filepath.Join(c.hosts[0].Root, "releases", "v1")); !os.IsNotExist(err) {
		t.Fatalf("v1 not pruned: %v", err)
	}
	// A newer but incomplete release (an interrupted deploy) must never be a rollback target.
	for _, s := range c.hosts {
		if err := os.MkdirAll(filepath.Join(s.Root, "releases", "v5"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := c.inv.Tiers["app"].Hosts[0]
	res, err := r.Run(ctx, h, deploy.Command{Argv: deploy.ListArgv(h.Root)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := deploy.ParseListing(res.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	target, err := deploy.RollbackTarget(l, "")
	if err != nil || target != "v3" {
		t.Fatalf("rollback target %q %v, want v3", target, err)
	}
	if _, err := deploy.RollbackTarget(l, "v5"); err == nil {
		t.Fatal("rollback to an incomplete release was allowed")
	}
	p, err := deploy.RollbackPlan(c.inv, "app", deploytest.TierConfig(), target, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&deploy.Executor{Runner: r}).Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range c.hosts {
		if got := c.serving(i); got != "v3" {
			t.Fatalf("host %d serves %q after rollback", i, got)
		}
	}
	// Switching to an incomplete release is refused on the host itself.
	if _, err := r.Run(ctx, h, deploy.Command{Argv: deploy.SwitchArgv(h.Root, "v5")}); err == nil || !strings.Contains(err.Error(), "not complete") {
		t.Fatalf("switch to incomplete: %v", err)
	}
}
