// Package sharedtest builds deploy connections for command tests: n "hosts" that are directories on this
// machine, run by deploy/local, serving the real test app on their own ports.
package sharedtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// Env is a local deploy connection.
type Env struct {
	*rollout.Conn
	Ports []int
	Roots []string
}

// New builds a connection to n app hosts with the test service config and no load balancer.
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
	e.Conn = &rollout.Conn{Inventory: inv, Config: cfg, Runner: local.Runner{},
		State: deploy.State{Runner: local.Runner{}, Host: inventory.Host{Name: "localhost"}, Dir: filepath.Join(dir, "state")},
		Close: func() {}}
	return e
}

// Connect returns a connector for command options.
func (e *Env) Connect() rollout.Connector {
	return func(context.Context, rollout.Request) (*rollout.Conn, error) { return e.Conn, nil }
}
