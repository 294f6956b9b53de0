// Package cmdutil holds what every plinth command shares: the Factory, exit codes, output flags.
package cmdutil

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/stacks"
)

// Factory builds the dependencies of commands. Tests replace fields.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// ProjectDir is the directory holding Pulumi.yaml (default: $PLINTH_PROJECT_DIR or the working directory).
	ProjectDir func() (string, error)
	Now        func() time.Time
	Getenv     func(string) string
	// Program is the Pulumi program the engine commands run: the function cmd/program hands to pulumi.Run.
	Program pulumi.RunFunc
	// StackOutputs reads a stack's outputs (the `inventory` object among them) from its Pulumi state.
	// Filled in by the provisioning engine (internal/provision); nil-safe callers get ErrNoStackOutputs.
	StackOutputs func(ctx context.Context, stack string) (map[string]any, error)
	// StackCloud reads the cloud a stack was provisioned into (its plinth:cloud tag); nil means aws. Commands
	// reach the stack's cloud through cloud.For(ctx, f.StackCloud, stack).
	StackCloud cloud.Recorded
	// LocalCloud is the live local cloud's server (`plinth local`); nil: not linked into this build.
	LocalCloud LocalCloud
	// LocalCloudLive returns the live hooks `--cloud local` engine commands attach (provision.Options'
	// LocalCloudLive); nil: the bookkeeping cloud only.
	LocalCloudLive func(localCloudDir string) ([]localcloud.Hook, error)
	// DeployConnect connects the deploy verbs to a stack (internal/cli/deploywire.go); nil: Deployer builds
	// one from the fields above.
	DeployConnect rollout.Connector
	// DrillPlatform gives the drill's platform step for a stack (internal/cli/drillwire.go): the drill stack
	// through the stack's engine options; nil: the step is unavailable.
	DrillPlatform func(ctx context.Context, stack string) (*drill.StackPlatform, error)
	// DrillCloud gives what the stack's cloud adds to drill id (internal/cli/drillwire_aws.go on AWS: the RDS
	// drill database, the leftover check by tag, the drill load balancer's readiness); nil or empty parts:
	// those steps are as the other inputs make them.
	DrillCloud func(ctx context.Context, stack, id string, log func(format string, args ...any)) (drill.CloudParts, error)
	// DrillRelease gives the release production runs (its deploy audit, its escrow) and the deploy step
	// that rolls it out to the drill stack (internal/cli/drillwire_deploy.go), with a closer; nil: the
	// release is not checked and the deploy step is unavailable.
	DrillRelease func(ctx context.Context, stack string) (*drill.EscrowDeployer, func(), error)
	// DrillAccess gives the drill what the stack's cloud reaches production's databases and makes the drill
	// database with (internal/cli/drillwire_local.go); nil: only the flags and the environment.
	DrillAccess drill.Accessor
}

// BackupTargets returns the Opener every backup verb and the drill set up with: the flags, the environment,
// and the stack's inventory read through its cloud.
func (f *Factory) BackupTargets() *target.Opener {
	outputs := f.StackOutputs
	if outputs == nil {
		outputs = func(context.Context, string) (map[string]any, error) { return nil, ErrNoStackOutputs }
	}
	return &target.Opener{Getenv: f.Getenv, StackOutputs: outputs, StackCloud: f.StackCloud}
}

// ErrNoStackOutputs is returned when no provisioning backend can read stack outputs.
var ErrNoStackOutputs = errors.New("stack outputs unavailable: pass --inventory FILE, or provision the stack with plinth up first")

// New returns the production Factory.
func New() *Factory {
	return &Factory{
		IOStreams: iostreams.System(),
		ProjectDir: func() (string, error) {
			if d := os.Getenv("PLINTH_PROJECT_DIR"); d != "" {
				return d, nil
			}
			return os.Getwd()
		},
		Now:     time.Now,
		Getenv:  os.Getenv,
		Program: stacks.Program,
		StackOutputs: func(context.Context, string) (map[string]any, error) {
			return nil, ErrNoStackOutputs
		},
	}
}
