// Package rollback implements `plinth deploy rollback`: switch a tier back to a previous complete release.
package rollback

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/views"
)

// RollbackOptions are the inputs of `plinth deploy rollback`.
type RollbackOptions struct {
	IO      *iostreams.IOStreams
	Now     func() time.Time
	Holder  string
	Load    func(context.Context, *shared.Flags) (*shared.Env, error)
	Drainer func(context.Context, *shared.Env, string) (deploy.Drainer, error)

	Flags   shared.Flags
	Tier    string
	To      string
	Message string
}

// NewCmdRollback builds `plinth deploy rollback`.
func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{IO: f.IOStreams, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "rollback --stack S --tier T [--to VERSION]",
		Short: "Switch a tier back to the previous complete release (or --to one), rolling, with health checks",
		Long: `Rolls back to a release that is complete on every host of the tier: the newest complete release older
than the current one, or --to VERSION. Incomplete releases (interrupted deploys) are never chosen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Flags.Validate(); err != nil {
				return err
			}
			if opts.Tier == "" {
				return cmdutil.FlagErrorf("--tier is required")
			}
			if opts.To != "" {
				if err := deploy.ValidateVersion(opts.To); err != nil {
					return cmdutil.FlagErrorf("--to: %v", err)
				}
			}
			shared.Defaults(f, &opts.Holder, &opts.Load, &opts.Drainer)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rollbackRun(cmd.Context(), opts)
		},
	}
	shared.AddFlags(cmd, &opts.Flags)
	cmd.Flags().StringVarP(&opts.Tier, "tier", "t", "", "tier to roll back")
	cmd.Flags().StringVar(&opts.To, "to", "", "release to roll back to (default: the previous complete one)")
	cmd.Flags().StringVarP(&opts.Message, "message", "m", "", "why: recorded in the lock and the audit log")
	return cmd
}

func rollbackRun(ctx context.Context, opts *RollbackOptions) error {
	env, err := opts.Load(ctx, &opts.Flags)
	if err != nil {
		return err
	}
	defer env.Close()
	tier, err := env.Inventory.Tier(opts.Tier)
	if err != nil {
		return cmdutil.FlagErrorf("--tier: %v", err)
	}
	target, err := deploy.FindRollbackTarget(ctx, env.Runner, tier.Hosts, opts.To)
	if err != nil {
		return err
	}
	cfg := env.Config.Tier(opts.Tier)
	dr, err := opts.Drainer(ctx, env, opts.Tier)
	if err != nil {
		return err
	}
	p, err := deploy.RollbackPlan(env.Inventory, opts.Tier, cfg, target, dr != nil)
	if err != nil {
		return err
	}
	jsonOut := opts.Flags.Output == cmdutil.OutputJSON
	view := views.NewDeployView(opts.IO.Out, jsonOut, false)
	exec := &deploy.Executor{Runner: env.Runner, Drainer: dr, Emit: view.Event, Now: opts.Now, StepTimeout: env.StepTimeout, Parallel: env.Parallel}
	s := &deploy.Session{State: env.State, Exec: exec, Holder: opts.Holder, Message: opts.Message, Action: "rollback", Now: opts.Now}
	outs, runErr := s.Run(ctx, []*deploy.Plan{p})
	if err := views.RenderDeployResults(opts.IO.Out, jsonOut, []views.DeployResult{views.SummarizeDeploy("rollback", p, outs, runErr)}); err != nil {
		return err
	}
	return cmdutil.Coded(runErr)
}
