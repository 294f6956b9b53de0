// Package binlog implements `plinth backup binlog`: stream the server's binlog into the vault.
package binlog

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
)

// BinlogOptions are the inputs of `plinth backup binlog`.
type BinlogOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	Target         target.Flags
	Recipients     []string
	RecipientsFile string
	ServerID       uint32
	FromGTID       string
	SegmentMiB     int
	SegmentAge     time.Duration
	Lease          time.Duration
	Cursor         string
	Quiet          bool
}

// NewCmdBinlog builds `plinth backup binlog`.
func NewCmdBinlog(f *cmdutil.Factory, runF func(*BinlogOptions) error) *cobra.Command {
	opts := &BinlogOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "binlog [--stack S | --dsn DSN --store URL] --recipient age1...",
		Short: "Stream the server's binlog into the vault for point-in-time recovery (runs until stopped)",
		Long: `Connects as a replica (the replication protocol: works on RDS) and streams every transaction into
encrypted, compressed segments under binlog/ in the store, each committed by a sha256-listed index written
last. It resumes after the last segment's GTID set; the first run starts at the newest backup's snapshot
(or --from-gtid). Stop it with SIGINT/SIGTERM: the open segment is dropped and streamed again next time.

Several streamers on one store (every worker host runs one) hand over: one leads, the others stand by,
following the chain's head by GET alone (the vault's writer identity may not list), and take over when it
has not advanced for --lease. Every segment's index is created only if absent, so exactly one streamer
commits each segment: no gap, no duplicate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			if len(opts.Recipients) == 0 && opts.RecipientsFile == "" {
				return cmdutil.FlagErrorf("at least one --recipient or a --recipients-file is required")
			}
			if opts.ServerID == 0 {
				return cmdutil.FlagErrorf("--server-id: want a replica id other than 0, unique on the server")
			}
			if opts.SegmentMiB < 1 || opts.SegmentAge < time.Second {
				return cmdutil.FlagErrorf("--segment-mib >= 1 and --segment-age >= 1s")
			}
			if opts.Lease < 0 || (opts.Lease != 0 && opts.Lease < 2*opts.SegmentAge) {
				return cmdutil.FlagErrorf("--lease %s: want at least twice --segment-age (%s): an idle leader beats once per segment age", opts.Lease, opts.SegmentAge)
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return binlogRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	backupflags.AddDBFlags(cmd, &opts.Target, "database server to stream from (needs REPLICATION SLAVE, REPLICATION CLIENT)")
	backupflags.AddRecipientFlags(cmd, &opts.Recipients, &opts.RecipientsFile)
	cmd.Flags().Uint32Var(&opts.ServerID, "server-id", 4242, "replica server id (unique among the server's replicas)")
	cmd.Flags().StringVar(&opts.FromGTID, "from-gtid", "", "GTID set to start from when the store holds no segment (default: the newest backup's)")
	cmd.Flags().IntVar(&opts.SegmentMiB, "segment-mib", 16, "close a segment at this much binlog")
	cmd.Flags().DurationVar(&opts.SegmentAge, "segment-age", time.Minute, "close a segment this long after it opened (bounds the data a lost streamer loses)")
	cmd.Flags().DurationVar(&opts.Lease, "lease", 0, "a standby takes over once the chain's head has not advanced for this long (default 3 x --segment-age)")
	cmd.Flags().StringVar(&opts.Cursor, "cursor", "", "`FILE` keeping where this streamer stopped: where it looks for the chain's head, and whether it wrote it (then it leads again at once after a restart)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func binlogRun(opts *BinlogOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	rcpt, err := backupflags.Recipients(opts.Recipients, opts.RecipientsFile)
	if err != nil {
		return err
	}
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target, DB: true})
	if err != nil {
		return err
	}
	defer t.Close()
	flavor, err := t.Flavor(ctx)
	if err != nil {
		return fmt.Errorf("backup binlog: %w", err)
	}
	err = backup.StreamBinlog(ctx, backup.BinlogOptions{Store: t.Store, Recipients: rcpt, Flavor: flavor, From: opts.FromGTID,
		SegmentBytes: int64(opts.SegmentMiB) << 20, SegmentAge: opts.SegmentAge, Log: backupflags.Logger(opts.IO.ErrOut, opts.Quiet),
		Open: t.BinlogSource(flavor, opts.ServerID), Cursor: opts.Cursor, Current: t.CurrentGTID(flavor),
		Lease: opts.Lease, Holder: backupflags.Holder()})
	if err != nil {
		return fmt.Errorf("backup binlog from %s: %w", t.Address(), err)
	}
	return nil
}
