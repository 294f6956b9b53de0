// Package prune implements `plinth backup prune`.
package prune

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// PruneOptions are the inputs of `plinth backup prune`.
type PruneOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	Target target.Flags
	Policy retention.Policy
	DryRun bool
	Output string
}

// NewCmdPrune builds `plinth backup prune`.
func NewCmdPrune(f *cmdutil.Factory, runF func(*PruneOptions) error) *cobra.Command {
	opts := &PruneOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "prune [--stack S | --store URL] --keep-last N [--keep-daily N --keep-weekly N --keep-monthly N] [--dry-run]",
		Short: "Remove backups the retention policy does not keep (never the newest verified one)",
		Long: `Applies the retention policy: the newest N backups, the newest backup of each of the last N days, ISO
weeks and months (UTC). The newest verified backup is always kept. Every backup's objects are first checked
against its manifest (sizes from the listing): a backup not intact (objects missing or of the wrong size, an
unreadable manifest, a FAILED verification) fills no slot and is kept for inspection; with no intact backup
at all prune refuses and removes nothing (exit 1), --dry-run included. Incomplete backups (no manifest) older
than --incomplete-grace are removed; a removed backup loses its manifest first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			if err := opts.Policy.Validate(); err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return pruneRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	cmd.Flags().IntVar(&opts.Policy.KeepLast, "keep-last", 0, "keep the newest N backups")
	cmd.Flags().IntVar(&opts.Policy.KeepDaily, "keep-daily", 0, "keep the newest backup of each of the last N days")
	cmd.Flags().IntVar(&opts.Policy.KeepWeekly, "keep-weekly", 0, "keep the newest backup of each of the last N ISO weeks")
	cmd.Flags().IntVar(&opts.Policy.KeepMonthly, "keep-monthly", 0, "keep the newest backup of each of the last N months")
	cmd.Flags().DurationVar(&opts.Policy.IncompleteGrace, "incomplete-grace", 6*time.Hour, "keep incomplete backups written to within this long (may still be running)")
	cmd.Flags().BoolVarP(&opts.DryRun, "dry-run", "n", false, "print what would be removed; remove nothing")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func pruneRun(opts *PruneOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target})
	if err != nil {
		return err
	}
	defer t.Close()
	now := time.Now()
	if opts.Factory.Now != nil {
		now = opts.Factory.Now()
	}
	rep, err := backup.Prune(ctx, backup.PruneOptions{Store: t.Store, Policy: opts.Policy, Now: now, DryRun: opts.DryRun})
	if rep != nil {
		if verr := views.BackupPrune(opts.IO.Out, opts.Output, rep); verr != nil && err == nil {
			err = verr
		}
	}
	if err != nil {
		return fmt.Errorf("backup prune: %w", err)
	}
	return nil
}
