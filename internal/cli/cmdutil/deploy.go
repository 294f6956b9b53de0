package cmdutil

import (
	"context"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// Deployer is how the deploy verbs connect to a stack: DeployConnect, else a connector built from the
// Factory's fields (its local cloud is bookkeeping only).
func (f *Factory) Deployer() rollout.Connector {
	if f.DeployConnect != nil {
		return f.DeployConnect
	}
	return func(ctx context.Context, req rollout.Request) (*rollout.Conn, error) {
		d := rollout.Deps{Getenv: f.Getenv, ProjectDir: f.ProjectDir, StackOutputs: f.StackOutputs,
			Clouds: cloud.Clouds{Recorded: f.StackCloud}}
		return rollout.Connect(ctx, d, req)
	}
}
