// Package drill implements `plinth drill` and `plinth drill history`.
package drill

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
)

// EnvDRDSN names the DR region's database server a backup-source drill restores into.
const EnvDRDSN = "PLINTH_DRILL_DR_DSN"

// Options are the inputs of `plinth drill`.
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	Target   target.Flags
	Source   string
	BackupID string
	Keep     bool
	DryRun   bool
	Identity string
	DRDSN    string
	Quiet    bool
	Output   string

	Plan drill.Plan
}

// NewCmdDrill builds `plinth drill`.
func NewCmdDrill(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "drill --stack S [--source replica|backup] [--backup ID] [--keep] [--dry-run] [-o json]",
		Short: "Rehearse the regional disaster recovery, timed against the stack's RTO and RPO targets",
		Long: `Runs the DR drill as a plan of named, timed steps: preflight, t0 (heartbeats on the primary), data (the
DR replica promoted, or a vault backup restored, in the DR region), platform, deploy, verify, report and
teardown, which runs whatever failed before it. --dry-run prints the plan. Exit 9 when a target is missed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if opts.Target.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			if opts.BackupID != "" && opts.Source != drill.SourceBackup {
				return cmdutil.FlagErrorf("--backup: only with --source backup")
			}
			spec, _, err := stackconfig.LoadSpec(f.ProjectDir, opts.Target.Stack)
			if err != nil {
				return cmdutil.Coded(err)
			}
			p, err := drill.NewPlan(drill.Options{ID: drill.NewID(f.Now()), Spec: spec, Source: opts.Source, BackupID: opts.BackupID, Keep: opts.Keep})
			if err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			opts.Plan, opts.Ctx = p, backupflags.Context(cmd.Context())
			if runF != nil {
				return runF(opts)
			}
			return drillRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	cmd.Flags().StringVar(&opts.Target.DSN, "primary-dsn", "", "production's primary, for the heartbeats (env "+target.EnvDSN+"; default: the stack's inventory)")
	cmd.Flags().StringVar(&opts.Source, "source", drill.SourceReplica, "drill database from: replica (the DR replica) or backup (a vault backup)")
	cmd.Flags().StringVar(&opts.BackupID, "backup", "", "backup to restore with --source backup (default: the newest verified)")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "leave the drill up for inspection (tear down later with plinth drill teardown ID)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the plan and create nothing")
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "restore identity (age) for --source backup (env "+target.EnvIdentity+")")
	cmd.Flags().StringVar(&opts.DRDSN, "dr-dsn", "", "the DR region's database server a backup is restored into (env "+EnvDRDSN+")")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	cmd.AddCommand(NewCmdHistory(f, nil), NewCmdTeardown(f, nil))
	return cmd
}

func drillRun(opts *Options) error {
	if opts.DryRun {
		return views.DrillPlan(opts.IO.Out, opts.Output, opts.Plan)
	}
	f := opts.Factory
	// What cannot be resolved leaves its step unavailable: the drill names it and still tears down.
	res, _ := f.BackupTargets().Open(opts.Ctx, target.Request{Flags: opts.Target, DB: true, ResolveOnly: true})
	// The report is created in the vault: as its writer identity (the restore identity may only read).
	writer := opts.Target
	writer.Writer = true
	hist, _ := f.BackupTargets().Open(opts.Ctx, target.Request{Flags: writer, ResolveOnly: true})
	cfg := drill.EnvConfig{PrimaryDSN: res.DSN, StoreURL: res.StoreURL, IdentityFile: firstSet(opts.Identity, f.Getenv(target.EnvIdentity)),
		DRDSN: firstSet(opts.DRDSN, f.Getenv(EnvDRDSN)), HistoryStoreURL: hist.StoreURL}
	if !opts.Quiet {
		cfg.Log = func(format string, args ...any) { fmt.Fprintf(opts.IO.ErrOut, format+"\n", args...) }
	}
	if f.DrillAccess != nil {
		acc, err := f.DrillAccess(opts.Ctx, opts.Plan)
		if err != nil && cfg.Log != nil {
			cfg.Log("drill %s: %s's cloud: %v", opts.Plan.ID, opts.Plan.Stack, err)
		}
		if acc.Close != nil {
			defer acc.Close()
		}
		// The cloud's writer login wins over the inventory's backup user (read only), never over a DSN given.
		if acc.PrimaryDSN != "" && opts.Target.DSN == "" && f.Getenv(target.EnvDSN) == "" {
			cfg.PrimaryDSN = acc.PrimaryDSN
		}
		cfg.DRReplicaDSN, cfg.DrillDatabase = acc.DRReplicaDSN, acc.Database
	}
	if f.DrillPlatform != nil {
		sp, err := f.DrillPlatform(opts.Ctx, opts.Plan.Stack)
		if err != nil && cfg.Log != nil {
			cfg.Log("drill %s: platform: %v", opts.Plan.ID, err)
		}
		cfg.Platform = sp
	}
	if f.DrillCloud != nil {
		parts, err := f.DrillCloud(opts.Ctx, opts.Plan.Stack, opts.Plan.ID, cfg.Log)
		if err != nil && cfg.Log != nil {
			cfg.Log("drill %s: the stack's cloud: %v", opts.Plan.ID, err)
		}
		parts.Apply(&cfg)
	}
	if f.DrillRelease != nil {
		dep, closeRelease, err := f.DrillRelease(opts.Ctx, opts.Plan.Stack)
		if err != nil { // the preflight fails naming it; the deploy step is unavailable
			cfg.Release = &drill.ProductionRelease{Stack: opts.Plan.Stack,
				Audit: func(context.Context) ([]deploy.AuditRecord, error) { return nil, err }}
		} else {
			defer closeRelease()
			dep.Holder, dep.Log = shared.Holder(f), cfg.Log
			cfg.Release, cfg.Deploy = dep.Release, dep
		}
	}
	env, closeEnv, err := drill.OpenEnv(opts.Ctx, opts.Plan, cfg)
	if err != nil {
		return err
	}
	defer closeEnv()
	env.Now = f.Now
	rep, runErr := drill.Run(opts.Ctx, opts.Plan, env)
	if err := views.DrillReport(opts.IO.Out, opts.Output, rep); err != nil {
		return err
	}
	return outcome(rep, runErr)
}

// outcome maps a finished drill to the command's error: a failed step as is (exit 1, 130 when
// interrupted), a missed target exit 9.
func outcome(rep *drill.Report, runErr error) error {
	if runErr != nil {
		return runErr
	}
	if rep.Verdict == drill.VerdictMissed {
		return cmdutil.WithExitCode(cmdutil.ExitDRTargetMissed, fmt.Errorf("drill %s missed its %s target", rep.ID, strings.ToUpper(strings.Join(rep.Missed, " and "))))
	}
	return nil
}

func firstSet(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// HistoryOptions are the inputs of `plinth drill history`.
type HistoryOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context
	Target  target.Flags
	Output  string
}

// NewCmdHistory builds `plinth drill history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "history --stack S | --store URL",
		Short: "List the drills recorded in the vault, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			opts.Ctx = backupflags.Context(cmd.Context())
			if runF != nil {
				return runF(opts)
			}
			t, err := backupflags.Open(opts.Ctx, f, target.Request{Flags: opts.Target})
			if err != nil {
				return err
			}
			defer t.Close()
			rs, err := drill.History{Store: t.Store}.List(opts.Ctx)
			if err != nil {
				return fmt.Errorf("drill history in %s: %w", t.StoreURL, err)
			}
			return views.DrillHistory(opts.IO.Out, opts.Output, rs)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}
