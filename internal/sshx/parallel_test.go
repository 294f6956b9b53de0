package sshx_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// countingRunner records the most hosts with a runner call (command, upload, forward, connect) in flight
// at once.
type countingRunner struct {
	deploy.Runner
	mu       sync.Mutex
	inFlight map[string]int
	max      int
}

func (c *countingRunner) enter(h inventory.Host) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight == nil {
		c.inFlight = map[string]int{}
	}
	c.inFlight[h.Name]++
	c.max = max(c.max, len(c.inFlight))
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.inFlight[h.Name]--; c.inFlight[h.Name] == 0 {
			delete(c.inFlight, h.Name)
		}
	}
}

func (c *countingRunner) Run(ctx context.Context, h inventory.Host, cmd deploy.Command) (deploy.Result, error) {
	defer c.enter(h)()
	return c.Runner.Run(ctx, h, cmd)
}

func (c *countingRunner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	defer c.enter(h)()
	return c.Runner.Upload(ctx, h, u, progress)
}

func (c *countingRunner) DialContext(ctx context.Context, h inventory.Host, network, addr string) (net.Conn, error) {
	defer c.enter(h)()
	return c.Runner.DialContext(ctx, h, network, addr)
}

func (c *countingRunner) Connect(ctx context.Context, h inventory.Host) error {
	defer c.enter(h)()
	return c.Runner.(deploy.Connector).Connect(ctx, h)
}

// --parallel 2 over 5 real sshd hosts: never more than 2 hosts worked on at once, in a whole session
// (connections while locking, staging, the tier's health checks, switching, pruning), and the deploy
// still completes on every host.
func TestParallelBoundsTheFanOut(t *testing.T) {
	c := newCluster(t, 5)
	cr := &countingRunner{Runner: c.runner(t)}
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 4<<20), "v1")
	s := &deploy.Session{State: c.state(c.runner(t)), Exec: &deploy.Executor{Runner: cr, Parallel: 2}, Holder: "test"}
	if _, err := s.Run(context.Background(), []*deploy.Plan{c.plan(t, v1, deploytest.TierConfig())}); err != nil {
		t.Fatal(err)
	}
	for i := range c.hosts {
		if got := c.serving(i); got != "v1" {
			t.Fatalf("app-%d serves %q", i+1, got)
		}
	}
	if cr.max != 2 {
		t.Fatalf("at most %d hosts worked on at once with --parallel 2: want 2", cr.max)
	}
}
