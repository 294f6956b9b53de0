package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// localInventory is n hosts that are directories on this machine, each with its own service port.
func localInventory(t *testing.T, n int) *inventory.Inventory {
	t.Helper()
	dir := t.TempDir()
	tier := &inventory.Tier{}
	for i := 1; i <= n; i++ {
		port := sshdtest.ServicePort(t)
		root := filepath.Join(dir, fmt.Sprintf("app-%d", i))
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: fmt.Sprintf("app-%d", i), Address: "127.0.0.1", Root: root, Port: port})
		t.Cleanup(func() { deploytest.StopApp(root) })
	}
	inv := &inventory.Inventory{Stack: "staging", Tiers: map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestExecutorDrainsRunsHooksAndEnablesInOrder(t *testing.T) {
	inv := localInventory(t, 2)
	hookLog := filepath.Join(t.TempDir(), "hooks.log")
	cfg := deploytest.TierConfig()
	cfg.Pre = [][]string{{"sh", "-c", `echo "pre $1 $2" >> "$0"`, hookLog, "{host}", "{version}"}}
	cfg.Post = [][]string{{"sh", "-c", `echo "post $1 $2" >> "$0"`, hookLog, "{host}", "{version}"}}
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg, Drain: true})
	if err != nil {
		t.Fatal(err)
	}
	lbm := &lbtest.Memory{}
	var order []string
	exec := &deploy.Executor{Runner: local.Runner{}, Drainer: lbm, Emit: func(ev deploy.Event) {
		if ev.Phase == deploy.PhaseSwitch && ev.Status == deploy.StatusOK {
			order = append(order, ev.Host+":"+string(ev.Step))
		}
	}}
	if _, err := exec.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := "app-1:drain app-1:pre app-1:switch app-1:health app-1:post app-1:enable " +
		"app-2:drain app-2:pre app-2:switch app-2:health app-2:post app-2:enable"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order:\n%s\nwant\n%s", got, want)
	}
	if got := strings.Join(lbm.Calls, ","); got != "drain app/app-1,enable app/app-1,drain app/app-2,enable app/app-2" {
		t.Fatalf("load balancer calls: %s", got)
	}
	b, _ := os.ReadFile(hookLog)
	if string(b) != "pre app-1 v1\npost app-1 v1\npre app-2 v1\npost app-2 v1\n" {
		t.Fatalf("hooks: %q", b)
	}
}

func TestFailedPreHookReEnablesTheHostAndStops(t *testing.T) {
	inv := localInventory(t, 2)
	cfg := deploytest.TierConfig()
	deployV1(t, inv, cfg)
	cfg.Pre = [][]string{{"sh", "-c", `[ "$0" != app-1 ] || { echo "migration lock busy" >&2; exit 3; }`, "{host}"}}
	rel2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	p2, _ := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel2, Config: cfg, Drain: true})
	lbm := &lbtest.Memory{}
	out, err := (&deploy.Executor{Runner: local.Runner{}, Drainer: lbm}).Execute(context.Background(), p2)
	if err == nil || !strings.Contains(err.Error(), "deploy app-1: pre") || !strings.Contains(err.Error(), "migration lock busy") {
		t.Fatalf("got %v", err)
	}
	if !lbm.InService("app", inv.Tiers["app"].Hosts[0]) {
		t.Fatal("app-1 left drained although it was never switched")
	}
	if len(out.Switched) != 0 {
		t.Fatalf("switched %v", out.Switched)
	}
	// The previous release still serves everywhere, and the staged v2 stays complete for a retry.
	for _, h := range inv.Tiers["app"].Hosts {
		if v := deploytest.Health(httpClient, h.Port); v != "v1" {
			t.Fatalf("%s serves %q", h.Name, v)
		}
		if _, err := os.Stat(filepath.Join(h.Root, "releases", "v2", ".complete")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFailedRestartAfterSwitchRollsTheBatchBack(t *testing.T) {
	inv := localInventory(t, 3)
	cfg := deploytest.TierConfig()
	deployV1(t, inv, cfg)
	// The restart of v2 fails on app-2 only (switch and restart run in one command).
	cfg.Restart = []string{"sh", "-c", `[ "$0" != app-2 ] || [ "$3" != v2 ] || { echo "unit plinth-app.service not found" >&2; exit 5; }; exec sh "$1" "$2" "$4"`,
		"{host}", deploytest.RestartScript(), "{root}", "{version}", "{port}"}
	rel2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	p2, _ := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel2, Config: cfg})
	out, err := (&deploy.Executor{Runner: local.Runner{}}).Execute(context.Background(), p2)
	if err == nil || !strings.Contains(err.Error(), "deploy app-2: switch") || !strings.Contains(err.Error(), "restart failed") {
		t.Fatalf("got %v", err)
	}
	if strings.Join(out.Switched, ",") != "app-1" || strings.Join(out.RolledBack, ",") != "app-2" {
		t.Fatalf("switched %v, rolled back %v", out.Switched, out.RolledBack)
	}
	if out.Previous["app-2"] != "v1" {
		t.Fatalf("previous release recorded by the stage step: %v", out.Previous)
	}
	want := map[string]string{"app-1": "v2", "app-2": "v1", "app-3": "v1"}
	for _, h := range inv.Tiers["app"].Hosts {
		if v := deploytest.Health(httpClient, h.Port); v != want[h.Name] {
			t.Fatalf("%s serves %q, want %q", h.Name, v, want[h.Name])
		}
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		if cur != "releases/"+want[h.Name] {
			t.Fatalf("%s current -> %s", h.Name, cur)
		}
	}
}

func TestPruneKeepsTheNewestReleasesAndTheirArtifactsOnly(t *testing.T) {
	inv := localInventory(t, 2)
	cfg := deploytest.TierConfig()
	cfg.Keep = 2
	var shas []string
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		rel := deploytest.Release(t, deploytest.BuildApp(t, v, true, 0), v)
		shas = append(shas, rel.SHA256)
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&deploy.Executor{Runner: local.Runner{}}).Execute(context.Background(), p); err != nil {
			t.Fatalf("deploy %s: %v", v, err)
		}
	}
	for _, h := range inv.Tiers["app"].Hosts {
		rels, _ := filepath.Glob(filepath.Join(h.Root, "releases", "*"))
		var names []string
		for _, r := range rels {
			names = append(names, filepath.Base(r))
		}
		if strings.Join(names, ",") != "v3,v4" {
			t.Fatalf("%s keeps releases %v, want v3,v4", h.Name, names)
		}
		arts, _ := filepath.Glob(filepath.Join(h.Root, ".artifacts", "*"))
		var got []string
		for _, a := range arts {
			got = append(got, filepath.Base(a))
		}
		slices.Sort(got)
		want := []string{shas[2], shas[3]}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s keeps artifacts %v, want those of v3 and v4 %v", h.Name, got, want)
		}
	}
}

// deployV1 puts the test service's v1 on every host of inv (the release a test then deploys over).
func deployV1(t *testing.T, inv *inventory.Inventory, cfg deploy.TierConfig) {
	t.Helper()
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&deploy.Executor{Runner: local.Runner{}}).Execute(context.Background(), p); err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
}

// connectingRunner is the local runner with a Connector that records the hosts connected to ahead.
type connectingRunner struct {
	local.Runner
	mu        sync.Mutex
	connected map[string]bool
}

func (r *connectingRunner) Connect(_ context.Context, h inventory.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.connected == nil {
		r.connected = map[string]bool{}
	}
	r.connected[h.Name] = true
	return nil
}

func TestSessionConnectsToEveryHostWhileItTakesTheLock(t *testing.T) {
	inv := localInventory(t, 3)
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: deploytest.TierConfig()})
	if err != nil {
		t.Fatal(err)
	}
	r := &connectingRunner{}
	bastion := inventory.Host{Name: "bastion", Address: "127.0.0.1"}
	s := &deploy.Session{State: deploy.State{Runner: r, Host: bastion, Dir: t.TempDir()}, Exec: &deploy.Executor{Runner: r}, Holder: "ci"}
	if _, err := s.Run(context.Background(), []*deploy.Plan{p}); err != nil {
		t.Fatal(err)
	}
	for _, h := range inv.Tiers["app"].Hosts {
		if !r.connected[h.Name] {
			t.Errorf("%s: never connected ahead", h.Name)
		}
	}
	if len(r.connected) != 3 { // the bastion is not a host of the plan
		t.Fatalf("connected %v", r.connected)
	}
}

func TestStepTimeoutBoundsAHungRestart(t *testing.T) {
	inv := localInventory(t, 2)
	cfg := deploytest.TierConfig()
	deployV1(t, inv, cfg)
	cfg.Restart = []string{"sleep", "30"} // a restart that never returns
	rel2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	p2, _ := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel2, Config: cfg})
	start := time.Now()
	// The timeout bounds every step, staging too: it must leave staging room on a loaded machine while
	// staying far below the 30 s restart it has to cut short.
	_, err := (&deploy.Executor{Runner: local.Runner{}, StepTimeout: 3 * time.Second}).Execute(context.Background(), p2)
	var he *deploy.HostError
	if !errors.As(err, &he) || he.Host != "app-1" || he.Step != deploy.StepSwitch || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want app-1's switch to time out, got %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("a hung restart held the deploy for %v (step timeout 3s)", took)
	}
}

func TestConnectAheadConnectsEveryHost(t *testing.T) {
	hosts := localInventory(t, 3).Tiers["app"].Hosts
	r := &connectingRunner{}
	stop := deploy.ConnectAhead(context.Background(), r, append(hosts, hosts[0]), 2)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		n := len(r.connected)
		r.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connected %d hosts, want the 3", n)
		}
	}
	stop()
	// A runner that cannot connect ahead is left alone.
	deploy.ConnectAhead(context.Background(), local.Runner{}, hosts, 0)()
}

// countingRunner is the local runner counting, per host, the removals it runs.
type countingRunner struct {
	local.Runner
	mu      sync.Mutex
	removes map[string]int
}

func (r *countingRunner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	if len(c.Argv) > 3 && c.Argv[3] == "plinth-remove" {
		r.mu.Lock()
		if r.removes == nil {
			r.removes = map[string]int{}
		}
		r.removes[h.Name]++
		r.mu.Unlock()
	}
	return r.Runner.Run(ctx, h, c)
}

func releasesOn(t *testing.T, h inventory.Host) string {
	t.Helper()
	rels, _ := filepath.Glob(filepath.Join(h.Root, "releases", "*"))
	var names []string
	for _, r := range rels {
		names = append(names, filepath.Base(r))
	}
	return strings.Join(names, ",")
}

// Pruning runs ahead, from the listing each stage printed, once every host is staged; after a switch only
// what is left beyond keep goes (a host rolled back to an older release keeps it current until switched).
// Either way one removal per host, and the same releases remain as when pruning came last.
func TestPruneRunsAheadAndAfterARollbackOnce(t *testing.T) {
	inv := localInventory(t, 2)
	cfg := deploytest.TierConfig()
	cfg.Keep = 2
	deployOver := func(v string) *countingRunner {
		t.Helper()
		rel := deploytest.Release(t, deploytest.BuildApp(t, v, true, 0), v)
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		r := &countingRunner{}
		if _, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), p); err != nil {
			t.Fatalf("deploy %s: %v", v, err)
		}
		return r
	}
	deployOver("v1")
	deployOver("v2")
	r := deployOver("v3") // ahead: v1 goes (v2 is current, v3 new)
	for _, h := range inv.Tiers["app"].Hosts {
		if got := releasesOn(t, h); got != "v2,v3" || r.removes[h.Name] != 1 {
			t.Fatalf("%s: releases %s after %d removals, want v2,v3 after 1", h.Name, got, r.removes[h.Name])
		}
	}
	rb, err := deploy.RollbackPlan(inv, "app", cfg, "v2", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&deploy.Executor{Runner: local.Runner{}}).Execute(context.Background(), rb); err != nil {
		t.Fatal(err)
	}
	r = deployOver("v4") // v2 is current until the switch: it goes after it
	for _, h := range inv.Tiers["app"].Hosts {
		if got := releasesOn(t, h); got != "v3,v4" || r.removes[h.Name] != 1 {
			t.Fatalf("%s: releases %s after %d removals, want v3,v4 after 1", h.Name, got, r.removes[h.Name])
		}
	}
}
