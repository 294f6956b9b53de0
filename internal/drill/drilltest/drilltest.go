// Package drilltest holds test doubles of the drill's seams: a Cloud whose steps record what they create,
// can fail or block at a named step, and tear down idempotently. Used only from tests.
package drilltest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
)

// Cloud is an in-memory drill cloud.
type Cloud struct {
	// T0 is the disaster instant the heartbeat reports; RTO and RPO what verify and data measure.
	T0       time.Time
	RTO, RPO time.Duration
	// FailAt fails the named step; BlockAt blocks it until its context is cancelled.
	FailAt, BlockAt string
	// Stuck resources survive teardown (a cloud that refuses to delete).
	Stuck []string
	// Blocked is closed when the BlockAt step starts blocking.
	Blocked chan struct{}

	mu       sync.Mutex
	calls    []string
	live     map[string]bool
	history  []drill.Report
	hbActive bool
}

// NewCloud returns a cloud whose drill has the given RTO and RPO.
func NewCloud(rto, rpo time.Duration) *Cloud {
	return &Cloud{T0: time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC), RTO: rto, RPO: rpo, live: map[string]bool{}, Blocked: make(chan struct{})}
}

// Env returns an Env whose every step is this cloud.
func (c *Cloud) Env() drill.Env {
	return drill.Env{Preflight: c, Heartbeat: c, Data: c, Platform: c, Deploy: c, Verify: c,
		Teardown: []drill.TearDowner{c}, History: c}
}

func (c *Cloud) enter(ctx context.Context, step string, creates ...string) error {
	c.mu.Lock()
	c.calls = append(c.calls, step)
	for _, r := range creates {
		c.live[r] = true
	}
	c.mu.Unlock()
	if step == c.BlockAt {
		close(c.Blocked)
		<-ctx.Done()
		return ctx.Err()
	}
	if step == c.FailAt {
		return fmt.Errorf("injected failure at %s", step)
	}
	return nil
}

// Preflight implements drill.Preflighter.
func (c *Cloud) Preflight(ctx context.Context, _ drill.Plan) error {
	return c.enter(ctx, drill.StepPreflight)
}

// Start implements drill.Heartbeater.
func (c *Cloud) Start(ctx context.Context) error {
	c.mu.Lock()
	c.hbActive = true
	c.mu.Unlock()
	return c.enter(ctx, "heartbeat-start")
}

// MarkT0 implements drill.Heartbeater.
func (c *Cloud) MarkT0(ctx context.Context) (drill.T0, error) {
	return drill.T0{Seq: 10, At: c.T0, GTID: "0-1-100"}, c.enter(ctx, drill.StepT0)
}

// Stop implements drill.Heartbeater.
func (c *Cloud) Stop() {
	c.mu.Lock()
	c.hbActive = false
	c.mu.Unlock()
}

// Recover implements drill.DataSource.
func (c *Cloud) Recover(ctx context.Context, p drill.Plan, t0 drill.T0) (drill.Recovered, error) {
	if err := c.enter(ctx, drill.StepData, "db/"+p.ID); err != nil {
		return drill.Recovered{}, err
	}
	return drill.Recovered{Where: "db/" + p.ID, RPO: drill.RPO{Loss: c.RPO, T0: t0.At, LastRecovered: t0.At.Add(-c.RPO), Consistent: true}}, nil
}

// Build implements drill.PlatformBuilder.
func (c *Cloud) Build(ctx context.Context, p drill.Plan, _ drill.Recovered) error {
	return c.enter(ctx, drill.StepPlatform, "lb/"+p.ID, "app-1/"+p.ID, "bastion/"+p.ID)
}

// Deploy implements drill.Deployer.
func (c *Cloud) Deploy(ctx context.Context, _ drill.Plan) error {
	return c.enter(ctx, drill.StepDeploy)
}

// Verify implements drill.Verifier.
func (c *Cloud) Verify(ctx context.Context, _ drill.Plan) (time.Time, error) {
	return c.T0.Add(c.RTO), c.enter(ctx, drill.StepVerify)
}

// Teardown implements drill.TearDowner: deletes everything of id but the Stuck resources.
func (c *Cloud) Teardown(ctx context.Context, id string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.calls = append(c.calls, drill.StepTeardown)
	stuck := map[string]bool{}
	for _, s := range c.Stuck {
		stuck[s] = true
	}
	var left []string
	for r := range c.live {
		if stuck[r] {
			left = append(left, r)
			continue
		}
		delete(c.live, r)
	}
	sort.Strings(left)
	return left, nil
}

// Append implements drill.HistoryWriter.
func (c *Cloud) Append(_ context.Context, r drill.Report) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.history = append(c.history, r)
	return nil
}

// Calls returns the steps entered, in order.
func (c *Cloud) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// Live returns the resources still up.
func (c *Cloud) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for r := range c.live {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// History returns the reports appended.
func (c *Cloud) History() []drill.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]drill.Report(nil), c.history...)
}

// HeartbeatActive reports whether the heartbeat writer was left running.
func (c *Cloud) HeartbeatActive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hbActive
}
