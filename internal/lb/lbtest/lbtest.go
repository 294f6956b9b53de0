// Package lbtest holds an in-memory drainer and the conformance suite every drainer passes.
package lbtest

import (
	"context"
	"sync"
	"testing"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Drainer is what lb's implementations provide.
type Drainer interface {
	Drain(ctx context.Context, tier string, h inventory.Host) error
	Enable(ctx context.Context, tier string, h inventory.Host) error
}

// Memory is an in-memory drainer recording which hosts are out of service.
type Memory struct {
	mu    sync.Mutex
	out   map[string]bool
	Calls []string
}

// Drain implements Drainer.
func (m *Memory) Drain(_ context.Context, tier string, h inventory.Host) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		m.out = map[string]bool{}
	}
	m.out[tier+"/"+h.Name] = true
	m.Calls = append(m.Calls, "drain "+tier+"/"+h.Name)
	return nil
}

// Enable implements Drainer.
func (m *Memory) Enable(_ context.Context, tier string, h inventory.Host) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.out, tier+"/"+h.Name)
	m.Calls = append(m.Calls, "enable "+tier+"/"+h.Name)
	return nil
}

// InService reports whether the host takes traffic.
func (m *Memory) InService(tier string, h inventory.Host) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.out[tier+"/"+h.Name]
}

// Fixture is one drainer under test: two hosts of a tier, and how to observe them.
type Fixture struct {
	Drainer   Drainer
	Tier      string
	Hosts     [2]inventory.Host
	InService func(t *testing.T, h inventory.Host) bool
}

// DrainerSuite is the conformance suite run against every drainer implementation.
func DrainerSuite(t *testing.T, newFixture func(t *testing.T) Fixture) {
	ctx := context.Background()
	t.Run("drain takes one host out, enable puts it back", func(t *testing.T) {
		f := newFixture(t)
		a, b := f.Hosts[0], f.Hosts[1]
		if !f.InService(t, a) || !f.InService(t, b) {
			t.Fatal("hosts not in service at start")
		}
		if err := f.Drainer.Drain(ctx, f.Tier, a); err != nil {
			t.Fatal(err)
		}
		if f.InService(t, a) {
			t.Fatal("drained host still in service")
		}
		if !f.InService(t, b) {
			t.Fatal("the other host was taken out")
		}
		if err := f.Drainer.Enable(ctx, f.Tier, a); err != nil {
			t.Fatal(err)
		}
		if !f.InService(t, a) {
			t.Fatal("enabled host not in service")
		}
	})
	t.Run("drain and enable are idempotent", func(t *testing.T) {
		f := newFixture(t)
		a := f.Hosts[0]
		for i := 0; i < 2; i++ {
			if err := f.Drainer.Drain(ctx, f.Tier, a); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 2; i++ {
			if err := f.Drainer.Enable(ctx, f.Tier, a); err != nil {
				t.Fatal(err)
			}
		}
		if !f.InService(t, a) {
			t.Fatal("not in service")
		}
	})
	t.Run("unknown host is an error", func(t *testing.T) {
		f := newFixture(t)
		ghost := inventory.Host{Name: "ghost-9", TargetID: "i-ghost", Port: 1}
		if _, ok := f.Drainer.(*Memory); ok {
			return // the memory drainer accepts any host by design
		}
		if err := f.Drainer.Drain(ctx, f.Tier, ghost); err == nil {
			t.Fatal("drained a host the load balancer does not know")
		}
	})
}
