package cli

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// drillRelease is the Factory's DrillRelease: production's release — its deploy audit log on its bastion and
// its release escrow, reached like `plinth deploy --stack <stack>` reaches them (the stack's cloud, its
// bastion, keys and known_hosts) — and the deploy step that rolls it out to the drill stack through the same
// connector (the drill stack's own inventory and bastion, on any cloud). The closer ends production's
// connection.
func drillRelease(f *cmdutil.Factory) func(ctx context.Context, stack string) (*drill.EscrowDeployer, func(), error) {
	return func(ctx context.Context, stack string) (*drill.EscrowDeployer, func(), error) {
		connect := f.Deployer()
		conn, err := connect(ctx, rollout.Request{Stack: stack})
		if err != nil {
			return nil, func() {}, fmt.Errorf("stack %s (its deploy audit and release escrow): %w", stack, err)
		}
		rel := &drill.ProductionRelease{Stack: stack, Escrow: conn.Escrow, EscrowErr: conn.EscrowErr,
			Audit: func(ctx context.Context) ([]deploy.AuditRecord, error) {
				return conn.State.History(ctx, drill.AuditHistory)
			}}
		return &drill.EscrowDeployer{Release: rel, Connect: connect}, conn.Close, nil
	}
}
