package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	want := "app-1:drain app-1:pre app-1:switch app-1:restart app-1:health app-1:post app-1:enable " +
		"app-2:drain app-2:pre app-2:switch app-2:restart app-2:health app-2:post app-2:enable"
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
	rel1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	p1, _ := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel1, Config: cfg})
	if _, err := (&deploy.Executor{Runner: local.Runner{}}).Execute(context.Background(), p1); err != nil {
		t.Fatal(err)
	}
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
