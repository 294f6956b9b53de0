package deploysim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Fleet is a tier of Hosts hosts spread round-robin over AZs availability zones (host i in zone i mod
// AZs), so that batches of AZs hosts in order take one host out of each zone.
type Fleet struct {
	Hosts, AZs int
	Artifact   int64 // bytes
	Staging    deploy.Staging
	Parallel   int // the executor's --parallel (0: every host)
	// HealthRate is the executor's (0: deploy.DefaultHealthRate; negative: every host before every batch).
	HealthRate float64
}

// AZ is the zone of a fleet host ("a", "b", ...), from its name.
func AZ(h inventory.Host) string {
	if i := strings.LastIndexByte(h.Name, '-'); i > 0 {
		return h.Name[i+1:]
	}
	return ""
}

// Inventory builds the fleet's inventory: hosts app-0001-a, app-0002-b, ...
func (f Fleet) Inventory() *inventory.Inventory {
	t := &inventory.Tier{Name: "app", Port: 8080}
	for i := range f.Hosts {
		az := string(rune('a' + i%max(f.AZs, 1)))
		t.Hosts = append(t.Hosts, inventory.Host{Name: fmt.Sprintf("app-%04d-%s", i+1, az),
			Address: fmt.Sprintf("10.%d.%d.%d:22", i%max(f.AZs, 1), i/250, i%250+1), Root: "/srv/plinth/app", Port: 8080})
	}
	return &inventory.Inventory{Stack: "sim", User: "plinth",
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: "203.0.113.10:22"}, StateDir: "/var/lib/plinth"},
		Tiers:   map[string]*inventory.Tier{"app": t}}
}

// Report is one simulated deploy.
type Report struct {
	Elapsed   time.Duration // simulated: lock to unlock
	Staged    time.Duration // simulated: until every host was staged
	Batches   int
	Outcome   *deploy.Outcome
	PushBytes int64 // through SSH (operator -> bastion -> hosts)
	StoreIn   int64 // into the object store
	Fetched   int64 // hosts <- store
	Commands  int
	Checks    int
}

// Deploy plans and executes a rolling deploy of version v1 over the fleet with the real planner, executor
// and session (lock, audit, stage, batches of one host per AZ with the N-of-N+1 check, prune). Call it
// inside a synctest bubble: the times are the model's.
func Deploy(ctx context.Context, f Fleet, m Model) (Report, error) {
	sim := New(m)
	inv := f.Inventory()
	cfg := (&deploy.Config{Tiers: map[string]deploy.TierConfig{"app": {
		Batch: fmt.Sprint(max(f.AZs, 1)), MinHealthy: max(f.Hosts-max(f.AZs, 1), 1), Keep: 3,
		Health: deploy.HealthConfig{Timeout: 2 * time.Second, Retries: 50, Interval: 100 * time.Millisecond},
	}}}).Tier("app")
	rel := deploy.Release{Version: "v1", Artifact: "dist/app", SHA256: fmt.Sprintf("%064x", 1), Size: f.Artifact,
		CreatedAt: time.Unix(2, 0)}
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg, Staging: f.Staging})
	if err != nil {
		return Report{}, err
	}
	start := time.Now()
	var staged time.Time
	ex := &deploy.Executor{Runner: sim, Store: sim, Parallel: f.Parallel, HealthRate: f.HealthRate, Emit: func(ev deploy.Event) {
		if ev.Phase == deploy.PhaseStage && ev.Status == deploy.StatusOK {
			staged = time.Now() // events are serialized
		}
	}}
	s := &deploy.Session{State: deploy.State{Runner: sim, Host: inv.Bastion.Host, Dir: inv.Bastion.StateDir},
		Exec: ex, Holder: "sim@operator", Message: "simulated"}
	outs, err := s.Run(ctx, []*deploy.Plan{p})
	r := Report{Elapsed: time.Since(start), Staged: staged.Sub(start), Batches: len(p.Batches),
		PushBytes: sim.PushBytes, StoreIn: sim.StoreIn, Fetched: sim.Fetched, Commands: sim.Commands, Checks: sim.Checks}
	if len(outs) > 0 {
		r.Outcome = outs[0]
	}
	return r, err
}
