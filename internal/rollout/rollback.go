package rollout

import (
	"context"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// RollbackRequest is one `plinth deploy rollback`.
type RollbackRequest struct {
	Tier string
	// To is the release to roll back to ("": the newest complete release older than the current one).
	To      string
	Holder  string
	Message string
	Now     func() time.Time
	Emit    func(deploy.Event)
}

// Target finds the release a tier rolls back to: To, or the previous complete release, complete and the
// same on every host of the tier.
func Target(ctx context.Context, conn *Conn, tier, to string) (string, error) {
	t, err := conn.Inventory.Tier(tier)
	if err != nil {
		return "", usagef("--tier: %v", err)
	}
	return deploy.FindRollbackTarget(ctx, conn.Runner, t.Hosts, to)
}

// Rollback switches the tier back to its rollback target, rolling, with health checks, in one session.
// A nil plan means nothing ran (err says why).
func Rollback(ctx context.Context, conn *Conn, req RollbackRequest) (*TierResult, error) {
	target, err := Target(ctx, conn, req.Tier, req.To)
	if err != nil {
		return nil, err
	}
	dr, err := conn.drainer(ctx, req.Tier)
	if err != nil {
		return nil, err
	}
	p, err := deploy.RollbackPlan(conn.Inventory, req.Tier, conn.Config.Tier(req.Tier), target, dr != nil)
	if err != nil {
		return nil, err
	}
	now := nowFunc(req.Now)
	exec := &deploy.Executor{Runner: conn.Runner, Drainer: dr, Emit: req.Emit, Now: now, StepTimeout: conn.StepTimeout, Parallel: conn.Parallel}
	s := &deploy.Session{State: conn.State, Exec: exec, Holder: req.Holder, Message: req.Message, Action: "rollback", Now: now}
	outs, err := s.Run(ctx, []*deploy.Plan{p})
	return &TierResult{Plan: p, Outcomes: outs, Err: err}, err
}
