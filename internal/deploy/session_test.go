package deploy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// namingRunner is the local runner, recording the name of every script it runs (sh -c SCRIPT NAME ...).
type namingRunner struct {
	local.Runner
	mu    sync.Mutex
	names []string
}

func (r *namingRunner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	if len(c.Argv) > 3 && c.Argv[0] == "sh" {
		r.mu.Lock()
		r.names = append(r.names, c.Argv[3])
		r.mu.Unlock()
	}
	return r.Runner.Run(ctx, h, c)
}

func (r *namingRunner) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.names {
		if s == name {
			n++
		}
	}
	return n
}

// TestSessionLocksAndAuditsInOneCommandEachWay: taking the lock and writing "started" is one command on
// the bastion, the last record and the unlock another; the audit log has both records, the lock is free.
func TestSessionLocksAndAuditsInOneCommandEachWay(t *testing.T) {
	inv := localInventory(t, 2)
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: deploytest.TierConfig()})
	if err != nil {
		t.Fatal(err)
	}
	r := &namingRunner{}
	state := deploy.State{Runner: r, Host: inventory.Host{Name: "bastion", Address: "127.0.0.1"}, Dir: t.TempDir()}
	s := &deploy.Session{State: state, Exec: &deploy.Executor{Runner: r}, Holder: "ci"}
	if _, err := s.Run(context.Background(), []*deploy.Plan{p}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"plinth-lock": 1, "plinth-audit-unlock": 1, "plinth-audit": 0, "plinth-unlock": 0} {
		if got := r.count(name); got != want {
			t.Errorf("%s ran %d times, want %d (all: %v)", name, got, want, r.names)
		}
	}
	recs, err := state.History(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Result != "started" || recs[1].Result != "succeeded" || recs[0].ID != recs[1].ID {
		t.Fatalf("audit records: %+v", recs)
	}
	if holder, err := state.Status(context.Background(), "staging"); err != nil || holder != nil {
		t.Fatalf("lock after the deploy: %+v, %v", holder, err)
	}
}

// TestLockedOutSessionBuildsNothing: uploads start while the lock is taken, but a session locked out
// builds no release, switches nothing and records nothing; the holder's lock stays.
func TestLockedOutSessionBuildsNothing(t *testing.T) {
	inv := localInventory(t, 2)
	cfg := deploytest.TierConfig()
	deployV1(t, inv, cfg)
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	r := &namingRunner{}
	state := deploy.State{Runner: r, Host: inventory.Host{Name: "bastion", Address: "127.0.0.1"}, Dir: t.TempDir()}
	if err := state.Acquire(context.Background(), deploy.LockInfo{ID: "alice1", Holder: "alice@laptop", Stack: "staging"}); err != nil {
		t.Fatal(err)
	}
	s := &deploy.Session{State: state, Exec: &deploy.Executor{Runner: r}, Holder: "ci"}
	_, err = s.Run(context.Background(), []*deploy.Plan{p})
	var le *deploy.LockedError
	if !errors.As(err, &le) || le.Holder.Holder != "alice@laptop" {
		t.Fatalf("want locked by alice, got %v", err)
	}
	for _, h := range inv.Tiers["app"].Hosts {
		if _, err := os.Stat(filepath.Join(h.Root, "releases", "v2")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: releases/v2 built by a locked-out session (%v)", h.Name, err)
		}
		if cur, _ := os.Readlink(filepath.Join(h.Root, "current")); !strings.HasSuffix(cur, "v1") {
			t.Errorf("%s: current %q, want v1", h.Name, cur)
		}
	}
	if n := r.count("plinth-stage") + r.count("plinth-switch"); n != 0 {
		t.Errorf("stage/switch ran %d times: %v", n, r.names)
	}
	if recs, _ := state.History(context.Background(), 10); len(recs) != 0 {
		t.Errorf("audit records of a locked-out session: %+v", recs)
	}
	if holder, err := state.Status(context.Background(), "staging"); err != nil || holder == nil || holder.ID != "alice1" {
		t.Fatalf("alice's lock: %+v, %v", holder, err)
	}
}
