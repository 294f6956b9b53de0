// Package restore implements `plinth backup restore`.
package restore

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/views"
)

// RestoreOptions are the inputs of `plinth backup restore`.
type RestoreOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	ID         string
	Target     target.Flags
	Identity   string
	Rename     []string
	Force      bool
	Workers    int
	SkipBinlog bool
	Definer    string
	Quiet      bool
	Output     string
}

// NewCmdRestore builds `plinth backup restore`.
func NewCmdRestore(f *cmdutil.Factory, runF func(*RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "restore ID|latest --identity FILE [--stack S | --dsn DSN --store URL] [--force]",
		Short: "Restore a backup into a database, tables in parallel",
		Long: `Restores a backup: databases and tables are created (secondary indexes added after the load), the data
objects are loaded in parallel with LOAD DATA, each in a transaction committed only after the object's
sha256 matched the manifest. A target database that already holds tables is refused without --force.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			opts.ID = args[0]
			if opts.Identity == "" {
				opts.Identity = f.Getenv(target.EnvIdentity)
			}
			if opts.Identity == "" {
				return cmdutil.FlagErrorf("--identity FILE (an age identity holding the private key) is required")
			}
			if opts.Workers < 1 || opts.Workers > 64 {
				return cmdutil.FlagErrorf("--workers: want 1..64, got %d", opts.Workers)
			}
			if _, err := target.ParseRename(opts.Rename); err != nil {
				return err
			}
			if opts.Definer != "keep" && opts.Definer != "current" {
				return cmdutil.FlagErrorf("--definer: want keep or current, got %q", opts.Definer)
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return restoreRun(opts)
		},
	}
	target.AddStoreFlags(cmd, &opts.Target)
	target.AddDBFlags(cmd, &opts.Target, "database server to restore into")
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "age identity file (env "+target.EnvIdentity+")")
	cmd.Flags().StringArrayVar(&opts.Rename, "rename", nil, "restore database OLD as NEW (OLD=NEW, repeatable)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the backed-up tables in a non-empty target")
	cmd.Flags().IntVarP(&opts.Workers, "workers", "j", 4, "parallel loads")
	cmd.Flags().StringVar(&opts.Definer, "definer", "keep", "definer of restored views, routines, triggers, events: keep (as backed up) or current (the restoring user)")
	cmd.Flags().BoolVar(&opts.SkipBinlog, "skip-binlog", false, "do not write the restore to the binlog (SET sql_log_bin=0; replicas will not see it)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func restoreRun(opts *RestoreOptions) error {
	ctx := target.Context(opts.Ctx)
	rename, _ := target.ParseRename(opts.Rename) // validated with the flags
	b, err := target.OpenBackup(ctx, opts.Factory, opts.Target, true, opts.Identity, opts.ID)
	if err != nil {
		return err
	}
	defer b.Store.Close()
	res := b.Resolved
	db, err := mysqlx.Open(res.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := backup.Restore(ctx, backup.RestoreOptions{Store: b.Store, ID: b.ID, Identities: b.Identities, Target: db, Rename: rename,
		Force: opts.Force, Workers: opts.Workers, SkipBinlog: opts.SkipBinlog, DefinerCurrent: opts.Definer == "current", Log: target.Logger(opts.IO.ErrOut, opts.Quiet)})
	if err != nil {
		return fmt.Errorf("backup restore into %s: %w", mysqlx.Redact(res.DSN), err)
	}
	return views.BackupRestore(opts.IO.Out, opts.Output, rep)
}
