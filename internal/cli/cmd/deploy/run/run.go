// Package run implements `plinth deploy`: a rolling, zero-downtime deploy of a tier's binary.
package run

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/views"
)

// RunOptions are the inputs of `plinth deploy`.
type RunOptions struct {
	IO *iostreams.IOStreams
	// Connect connects to the stack (tests inject fakes).
	Connect rollout.Connector
	Flags   shared.Flags
	// DeployRequest is the rollout the flags ask for (its Emit is the view's).
	rollout.DeployRequest
	DryRun bool
}

// NewCmdRun builds `plinth deploy`. runF replaces the run function in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, DeployRequest: rollout.DeployRequest{Now: f.Now}}
	cmd := &cobra.Command{
		Use:   "deploy --stack S (--tier T | --all-tiers) --artifact PATH --version V",
		Short: "Roll a binary out to a tier's hosts over SSH, batch by batch, with zero downtime",
		Long: `Uploads the artifact to every host of the tier in parallel (content-addressed: hosts that hold it get
0 bytes; its sha256 is verified on each host), then switches batches of hosts: drain from the load balancer,
switch the current symlink, restart, health-check, re-enable. At least N hosts of an N+1 tier stay in
service. A failed health check rolls that batch back and stops.

Exit codes: 0 deployed, 1 failed (the error names the host), 2 bad flags, 3 invalid inventory or config,
6 the stack's deploy lock is held by someone else (named).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Flags.Validate(); err != nil {
				return err
			}
			if opts.AllTiers == (opts.Tier != "") {
				return cmdutil.FlagErrorf("pass exactly one of --tier or --all-tiers")
			}
			if opts.Version == "" {
				return cmdutil.FlagErrorf("--version is required")
			}
			if err := deploy.ValidateVersion(opts.Version); err != nil {
				return cmdutil.FlagErrorf("--version: %v", err)
			}
			switch opts.Staging {
			case "", "auto", string(deploy.StagingPush), string(deploy.StagingPull):
			default:
				return cmdutil.FlagErrorf("--staging: want push, pull or auto, got %q", opts.Staging)
			}
			if opts.Artifact == "" && !opts.AllTiers {
				return cmdutil.FlagErrorf("--artifact is required")
			}
			shared.Defaults(f, &opts.Holder, &opts.Connect)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	shared.AddFlags(cmd, &opts.Flags)
	cmd.Flags().StringVarP(&opts.Tier, "tier", "t", "", "tier to deploy (app, worker, ...)")
	cmd.Flags().BoolVar(&opts.AllTiers, "all-tiers", false, "deploy every tier of the deploy config, in its order")
	cmd.Flags().StringVarP(&opts.Artifact, "artifact", "a", "", "local path of the binary (with --all-tiers, a tier's artifact: in the config overrides it)")
	cmd.Flags().StringVarP(&opts.Version, "version", "V", "", "release version (a path element: [A-Za-z0-9._+-])")
	cmd.Flags().StringVar(&opts.Batch, "batch", "", "hosts switched at once: a count or a percentage (capped to keep N of N+1 in service)")
	cmd.Flags().StringVar(&opts.Staging, "staging", "", "push (a copy per host over SSH), pull (one upload to deploy.yaml's store, hosts fetch it) or auto (pull from 20 hosts when a store is set; default: deploy.yaml's staging, else auto)")
	cmd.Flags().StringVarP(&opts.Message, "message", "m", "", "why: recorded in the lock and the audit log")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

func runRun(ctx context.Context, opts *RunOptions) error {
	conn, err := opts.Connect(ctx, opts.Flags.Request)
	if err != nil {
		return cmdutil.Coded(err)
	}
	defer conn.Close()
	req := opts.DeployRequest
	if opts.DryRun {
		plans, err := rollout.Plan(ctx, conn, req)
		if err != nil {
			return cmdutil.Coded(err)
		}
		for _, p := range plans {
			if err := views.DeployPlan(opts.IO.Out, opts.Flags.Output, p); err != nil {
				return err
			}
		}
		return nil
	}
	view := views.NewDeployProgress(opts.IO.Out, opts.Flags.Output, opts.IO.ProgressEnabled())
	req.Emit = view.Event
	tiers, runErr := rollout.Deploy(ctx, conn, req)
	if tiers == nil {
		return cmdutil.Coded(runErr)
	}
	results := make([]views.DeployResult, 0, len(tiers))
	for _, t := range tiers {
		r := views.SummarizeDeploy("deploy", t.Plan, t.Outcomes, t.Err)
		if t.Unchanged {
			r.Result = "unchanged (every host runs it)"
		}
		if t.Escrow != nil {
			r.Escrow = t.Escrow.URL
		}
		results = append(results, r)
	}
	if err := views.DeployResults(opts.IO.Out, opts.Flags.Output, results); err != nil {
		return err
	}
	return cmdutil.Coded(runErr)
}
