// Package restore implements `plinth backup restore`.
package restore

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
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
	ToTime     string
	ToGTID     string
	Quiet      bool
	Output     string
}

// NewCmdRestore builds `plinth backup restore`.
func NewCmdRestore(f *cmdutil.Factory, runF func(*RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "restore ID|latest|--to-time T|--to-gtid G --identity FILE [--stack S | --dsn DSN --store URL] [--force]",
		Short: "Restore a backup into a database, tables in parallel",
		Long: `Restores a backup, all or nothing: every table is loaded into a scratch schema on the target server
(secondary indexes added after the load; each data object in a transaction committed only after its sha256
matched the manifest), recounted and rehashed there, then moved into place by one atomic RENAME TABLE;
views, routines, triggers and events follow. A failure leaves the target as it was. A target database that
already holds tables is refused without --force.
With --to-time (UTC, "2006-01-02 15:04:05" or RFC 3339) or --to-gtid instead of an ID, the newest intact
backup before the target is restored and the binlog segments streamed by 'plinth backup binlog' are
replayed up to it (mariadb-binlog | mariadb, as WAL-G does).`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			pitr := opts.ToTime != "" || opts.ToGTID != ""
			switch {
			case opts.ToTime != "" && opts.ToGTID != "":
				return cmdutil.FlagErrorf("--to-time and --to-gtid exclude each other")
			case pitr && len(args) > 0:
				return cmdutil.FlagErrorf("give a backup ID or --to-time/--to-gtid, not both")
			case !pitr && len(args) == 0:
				return cmdutil.FlagErrorf("a backup ID (or latest), --to-time or --to-gtid is required")
			}
			if opts.ToTime != "" {
				if _, err := parseTime(opts.ToTime); err != nil {
					return err
				}
			}
			if len(args) > 0 {
				opts.ID = args[0]
			}
			if opts.Identity == "" {
				opts.Identity = f.Getenv(target.EnvIdentity)
			}
			if opts.Identity == "" {
				return cmdutil.FlagErrorf("--identity FILE (an age identity holding the private key) is required")
			}
			if opts.Workers < 1 || opts.Workers > 64 {
				return cmdutil.FlagErrorf("--workers: want 1..64, got %d", opts.Workers)
			}
			if _, err := backupflags.ParseRename(opts.Rename); err != nil {
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
	backupflags.AddStoreFlags(cmd, &opts.Target)
	backupflags.AddDBFlags(cmd, &opts.Target, "database server to restore into")
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "age identity file (env "+target.EnvIdentity+")")
	cmd.Flags().StringArrayVar(&opts.Rename, "rename", nil, "restore database OLD as NEW (OLD=NEW, repeatable)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the backed-up tables in a non-empty target")
	cmd.Flags().IntVarP(&opts.Workers, "workers", "j", 4, "parallel loads")
	cmd.Flags().StringVar(&opts.Definer, "definer", "keep", "definer of restored views, routines, triggers, events: keep (as backed up) or current (the restoring user)")
	cmd.Flags().StringVar(&opts.ToTime, "to-time", "", "point in time (UTC) to restore to: a backup plus the binlog replayed")
	cmd.Flags().StringVar(&opts.ToGTID, "to-gtid", "", "GTID to restore up to (inclusive): a backup plus the binlog replayed")
	cmd.Flags().BoolVar(&opts.SkipBinlog, "skip-binlog", false, "do not write the restore to the binlog (SET sql_log_bin=0; replicas will not see it)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func restoreRun(opts *RestoreOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	rename, _ := backupflags.ParseRename(opts.Rename) // validated with the flags
	id := opts.ID
	if id == "" {
		id = "latest" // a point-in-time restore picks its backup; this opens the store and the identities
	}
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target, DB: true, IdentityFile: opts.Identity, ID: id})
	if err != nil {
		return err
	}
	defer t.Close()
	ro := backup.RestoreOptions{Store: t.Store, ID: t.ID, Identities: t.Identities, Target: t.DB, Rename: rename,
		Force: opts.Force, Workers: opts.Workers, SkipBinlog: opts.SkipBinlog, DefinerCurrent: opts.Definer == "current", Log: backupflags.Logger(opts.IO.ErrOut, opts.Quiet)}
	if opts.ToTime != "" || opts.ToGTID != "" {
		to, _ := parseTime(opts.ToTime) // validated with the flags
		prep, err := backup.RestoreToPoint(ctx, backup.PITROptions{Restore: ro, ToTime: to, ToGTID: opts.ToGTID,
			Replay: t.Replay, CheckReplay: t.CheckReplay})
		if err != nil {
			return fmt.Errorf("backup restore into %s: %w", t.Address(), err)
		}
		return views.BackupPITR(opts.IO.Out, opts.Output, prep)
	}
	rep, err := backup.Restore(ctx, ro)
	if err != nil {
		return fmt.Errorf("backup restore into %s: %w", t.Address(), err)
	}
	return views.BackupRestore(opts.IO.Out, opts.Output, rep)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cmdutil.FlagErrorf("--to-time %q: want UTC \"2006-01-02 15:04:05\" or RFC 3339", s)
}
