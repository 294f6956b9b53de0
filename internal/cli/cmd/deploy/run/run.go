// Package run implements `plinth deploy`: a rolling, zero-downtime deploy of a tier's binary.
package run

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/views"
)

// RunOptions are the inputs of `plinth deploy`.
type RunOptions struct {
	IO     *iostreams.IOStreams
	Now    func() time.Time
	Holder string
	// Load builds the environment (tests inject fakes).
	Load func(context.Context, *shared.Flags) (*shared.Env, error)
	// Drainer builds the load balancer drainer of a tier (nil: none).
	Drainer func(context.Context, *shared.Env, string) (deploy.Drainer, error)

	Flags    shared.Flags
	Tier     string
	AllTiers bool
	Artifact string
	Version  string
	Batch    string
	Staging  string
	Message  string
	DryRun   bool
}

// NewCmdRun builds `plinth deploy`. runF replaces the run function in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, Now: f.Now}
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
			shared.Defaults(f, &opts.Holder, &opts.Load, &opts.Drainer)
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
	env, err := opts.Load(ctx, &opts.Flags)
	if err != nil {
		return err
	}
	defer env.Close()
	tiers := []string{opts.Tier}
	if opts.AllTiers {
		tiers = env.Config.Order
		if len(tiers) == 0 {
			tiers = env.Inventory.TierNames()
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	jsonOut := opts.Flags.Output == cmdutil.OutputJSON
	var plans []*deploy.Plan
	drainers := map[string]deploy.Drainer{}
	releases := map[string]deploy.Release{}
	for _, tier := range tiers {
		t, err := env.Inventory.Tier(tier)
		if err != nil {
			return cmdutil.FlagErrorf("--tier: %v", err)
		}
		if opts.AllTiers && len(t.Hosts) == 0 {
			continue
		}
		cfg := env.Config.Tier(tier)
		if opts.Batch != "" {
			cfg.Batch = opts.Batch
		}
		artifact := opts.Artifact
		if opts.AllTiers && cfg.Artifact != "" {
			artifact = cfg.Artifact
		}
		if artifact == "" {
			return cmdutil.FlagErrorf("tier %s: no artifact: pass --artifact or set tiers.%s.artifact in the deploy config", tier, tier)
		}
		rel, ok := releases[artifact]
		if !ok {
			rel, err = describe(artifact, opts.Version, now())
			if err != nil {
				return err
			}
			releases[artifact] = rel
		}
		var dr deploy.Drainer
		if opts.Drainer != nil {
			if dr, err = opts.Drainer(ctx, env, tier); err != nil {
				return err
			}
		}
		drainers[tier] = dr
		staging, err := deploy.ChooseStaging(cmp.Or(opts.Staging, env.Config.Staging), len(t.Hosts), env.Config.Store != nil)
		if err != nil {
			return cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, err)
		}
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: env.Inventory, Tier: tier, Release: rel, Config: cfg, Drain: dr != nil, Staging: staging})
		if err != nil {
			return cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, err)
		}
		plans = append(plans, p)
	}
	if len(plans) == 0 {
		return errors.New("nothing to deploy: no tier has hosts")
	}
	if opts.DryRun {
		for _, p := range plans {
			if err := views.RenderPlan(opts.IO.Out, jsonOut, p); err != nil {
				return err
			}
		}
		return nil
	}
	var store deploy.ArtifactStore
	if env.Config.Store != nil && slices.ContainsFunc(plans, func(p *deploy.Plan) bool { return p.Staging == deploy.StagingPull }) {
		if store, err = s3store.Open(ctx, *env.Config.Store); err != nil {
			return cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, err)
		}
	}
	view := views.NewDeployView(opts.IO.Out, jsonOut, opts.IO.ProgressEnabled())
	var results []views.DeployResult
	var firstErr error
	// One session per tier: each holds the stack lock only while it runs, and each is audited.
	for _, p := range plans {
		exec := &deploy.Executor{Runner: env.Runner, Drainer: drainers[p.Tier], Emit: view.Event, Now: now, StepTimeout: env.StepTimeout, Parallel: env.Parallel, Store: store}
		s := &deploy.Session{State: env.State, Exec: exec, Holder: opts.Holder, Message: opts.Message, Action: "deploy", Now: now}
		outs, err := s.Run(ctx, []*deploy.Plan{p})
		results = append(results, views.SummarizeDeploy("deploy", p, outs, err))
		if err != nil {
			firstErr = err
			break
		}
	}
	if err := views.RenderDeployResults(opts.IO.Out, jsonOut, results); err != nil {
		return err
	}
	return cmdutil.Coded(firstErr)
}

// describe hashes the artifact.
func describe(path, version string, now time.Time) (deploy.Release, error) {
	f, err := os.Open(path)
	if err != nil {
		return deploy.Release{}, cmdutil.FlagErrorf("--artifact: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return deploy.Release{}, cmdutil.FlagErrorf("--artifact %s: not a regular file", path)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return deploy.Release{}, fmt.Errorf("artifact %s: %w", path, err)
	}
	return deploy.Release{Version: version, Artifact: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, CreatedAt: now}, nil
}
