// Package run implements `plinth backup run`.
package run

import (
	"context"
	"errors"
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

// RunOptions are the inputs of `plinth backup run`.
type RunOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context
	Tool    string

	Target         target.Flags
	Recipients     []string
	RecipientsFile string
	Databases      []string
	Workers        int
	PartSizeMiB    int
	ChunkRows      int64
	Compression    string
	Quiet          bool
	Output         string
	OncePer        time.Duration
}

// NewCmdRun builds `plinth backup run`. runF replaces the run function in tests.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "run [--stack S | --dsn DSN --store URL] --recipient age1...",
		Short: "Take an encrypted, consistent backup of the database into the vault",
		Long: `Takes a consistent logical backup (one InnoDB snapshot shared by parallel per-table streams), compresses
it (s2 by default, or zstd: --compression), encrypts it with age to the given X25519 recipients and streams it to
the store. The manifest records the codec; verify and restore read either. The manifest is written last: a
backup interrupted at any point is never listed as restorable and is pruned later.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			if len(opts.Recipients) == 0 && opts.RecipientsFile == "" {
				return cmdutil.FlagErrorf("at least one --recipient or a --recipients-file is required")
			}
			if opts.Workers < 1 || opts.Workers > 64 {
				return cmdutil.FlagErrorf("--workers: want 1..64, got %d", opts.Workers)
			}
			if opts.PartSizeMiB < 1 {
				return cmdutil.FlagErrorf("--part-size-mib: want >= 1")
			}
			if _, err := compression(opts.Compression); err != nil {
				return err
			}
			opts.Ctx, opts.Tool = cmd.Context(), cmd.Root().Version
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	backupflags.AddDBFlags(cmd, &opts.Target, "database to back up")
	backupflags.AddRecipientFlags(cmd, &opts.Recipients, &opts.RecipientsFile)
	cmd.Flags().StringArrayVarP(&opts.Databases, "database", "d", nil, "database to include (repeatable; default: all non-system databases)")
	cmd.Flags().IntVarP(&opts.Workers, "workers", "j", 4, "parallel table streams sharing the snapshot")
	cmd.Flags().IntVar(&opts.PartSizeMiB, "part-size-mib", 64, "uncompressed MiB per data object")
	cmd.Flags().Int64Var(&opts.ChunkRows, "chunk-rows", 0, "split a table over N rows into primary-key ranges dumped in parallel (0: about --part-size-mib of rows; -1: never)")
	cmd.Flags().StringVar(&opts.Compression, "compression", backup.DefaultCompressionName, backup.CompressionHelp)
	_ = cmd.RegisterFlagCompletionFunc("compression", cobra.FixedCompletions(backup.CompressionNames(), cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().DurationVar(&opts.OncePer, "once-per", 0, "scheduled runs: first claim this period (e.g. 1h) in the store; when another run (another worker) has it, take no backup and exit 0 (env "+backup.EnvOncePer+")")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func compression(s string) (backup.Compression, error) {
	c, err := backup.ParseCompression(s)
	if err != nil {
		return c, cmdutil.FlagErrorf("--compression: %s, got %q", backup.ErrBadCompression, s)
	}
	return c, nil
}

// holder names this run in a period's claim: the host and the process.
func runRun(opts *RunOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	rcpt, err := backupflags.Recipients(opts.Recipients, opts.RecipientsFile)
	if err != nil {
		return err
	}
	if opts.OncePer == 0 && opts.Factory.Getenv != nil {
		if v := opts.Factory.Getenv(backup.EnvOncePer); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cmdutil.FlagErrorf("%s=%q: want a duration such as 1h", backup.EnvOncePer, v)
			}
			opts.OncePer = d
		}
	}
	opts.Target.Writer = true // a new backup: the vault's writer identity
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target, DB: true})
	if err != nil {
		return err
	}
	defer t.Close()
	comp, _ := compression(opts.Compression)
	now := time.Now
	if opts.Factory.Now != nil {
		now = opts.Factory.Now
	}
	start := time.Now()
	notes := &backup.RunNotes{}
	m, err := backup.Run(ctx, backup.RunOptions{
		DB: t.DB, DSN: t.DSN, Address: t.Address(), Store: t.Store, Recipients: rcpt, Databases: opts.Databases,
		Workers: opts.Workers, PartSize: int64(opts.PartSizeMiB) << 20, ChunkRows: opts.ChunkRows, Compression: comp, Tool: opts.Tool, Now: now,
		Log: backupflags.Logger(opts.IO.ErrOut, opts.Quiet), Notes: notes, OncePer: opts.OncePer, Holder: backupflags.Holder(),
	})
	if errors.Is(err, backup.ErrSlotTaken) {
		return views.BackupRun(opts.IO.Out, opts.Output, views.BackupRunResult{Store: t.Store.String(), Skipped: err.Error()})
	}
	if err != nil {
		return fmt.Errorf("backup run: %w", err)
	}
	return views.BackupRun(opts.IO.Out, opts.Output, views.BackupRunResult{Store: t.Store.String(), Manifest: m, Notes: notes, Duration: time.Since(start)})
}
