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
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/views"
)

// RollbackOptions are the inputs of `plinth deploy rollback`.
type RollbackOptions struct {
	IO      *iostreams.IOStreams
	Now     func() time.Time
	Holder  string
	Connect rollout.Connector

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
			shared.Defaults(f, &opts.Holder, &opts.Connect)
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
	conn, err := opts.Connect(ctx, opts.Flags.Request)
	if err != nil {
		return cmdutil.Coded(err)
	}
	defer conn.Close()
	jsonOut := opts.Flags.Output == cmdutil.OutputJSON
	view := views.NewDeployView(opts.IO.Out, jsonOut, false)
	res, runErr := rollout.Rollback(ctx, conn, rollout.RollbackRequest{Tier: opts.Tier, To: opts.To, Holder: opts.Holder,
		Message: opts.Message, Now: opts.Now, Emit: view.Event})
	if res == nil {
		return cmdutil.Coded(runErr)
	}
	if err := views.RenderDeployResults(opts.IO.Out, jsonOut, []views.DeployResult{views.SummarizeDeploy("rollback", res.Plan, res.Outcomes, runErr)}); err != nil {
		return err
	}
	return cmdutil.Coded(runErr)
}
