// Package sharedtest builds deploy environments for command tests: n "hosts" that are directories on this
// machine, run by deploy/local, serving the real test app on their own ports.
package sharedtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// Env is a local deploy environment.
type Env struct {
	*shared.Env
	Ports []int
	Roots []string
}

// New builds an environment of n app hosts with the test service config.
func New(t *testing.T, n int) *Env {
	t.Helper()
	dir := t.TempDir()
	tier := &inventory.Tier{Name: "app"}
	e := &Env{}
	for i := 1; i <= n; i++ {
		root := filepath.Join(dir, fmt.Sprintf("app-%d", i))
		port := sshdtest.ServicePort(t)
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: fmt.Sprintf("app-%d", i), Address: "127.0.0.1:22", Root: root, Port: port})
		e.Ports, e.Roots = append(e.Ports, port), append(e.Roots, root)
		t.Cleanup(func() { deploytest.StopApp(root) })
	}
	inv := &inventory.Inventory{Stack: "staging", Tiers: map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	cfg := &deploy.Config{Tiers: map[string]deploy.TierConfig{"app": deploytest.TierConfig()}}
	e.Env = &shared.Env{Inventory: inv, Config: cfg, Runner: local.Runner{},
		State: deploy.State{Runner: local.Runner{}, Host: inventory.Host{Name: "localhost"}, Dir: filepath.Join(dir, "state")},
		Close: func() {}}
	return e
}

// Load returns a loader for command options.
func (e *Env) Load() func(context.Context, *shared.Flags) (*shared.Env, error) {
	return func(context.Context, *shared.Flags) (*shared.Env, error) { return e.Env, nil }
}

// NoDrainer is a drainer factory for tiers without a load balancer.
func NoDrainer(context.Context, *shared.Env, string) (deploy.Drainer, error) { return nil, nil }
