// Package verify implements `plinth backup verify`.
package verify

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// VerifyOptions are the inputs of `plinth backup verify`.
type VerifyOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context
	Tool    string

	ID          string
	Target      target.Flags
	Identity    string
	RestoreInto string
	Rename      []string
	Force       bool
	NoMark      bool
	Workers     int
	Quiet       bool
	Output      string
}

// NewCmdVerify builds `plinth backup verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "verify ID|latest --identity FILE [--restore-into DSN]",
		Short: "Read back, decrypt and check every object of a backup; optionally restore it into scratch and compare",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			opts.ID = args[0]
			if opts.Identity == "" {
				opts.Identity = f.Getenv(target.EnvIdentity)
			}
			if opts.Identity == "" {
				return cmdutil.FlagErrorf("--identity FILE (an age identity holding the private key) is required")
			}
			if _, err := backupflags.ParseRename(opts.Rename); err != nil {
				return err
			}
			opts.Ctx, opts.Tool = cmd.Context(), cmd.Root().Version
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	cmd.Flags().StringVarP(&opts.Identity, "identity", "i", "", "age identity file (env "+target.EnvIdentity+")")
	cmd.Flags().StringVar(&opts.RestoreInto, "restore-into", "", "DSN of a scratch server: restore there and compare every table")
	cmd.Flags().StringArrayVar(&opts.Rename, "rename", nil, "restore database OLD as NEW in scratch (OLD=NEW, repeatable)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace tables already in the scratch database")
	cmd.Flags().BoolVar(&opts.NoMark, "no-mark", false, "do not write the verified marker on success (a failure is always recorded)")
	cmd.Flags().IntVarP(&opts.Workers, "workers", "j", 4, "parallel object readers / loaders")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress lines on stderr")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func verifyRun(opts *VerifyOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	rename, _ := backupflags.ParseRename(opts.Rename) // validated with the flags
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target, IdentityFile: opts.Identity, ID: opts.ID,
		ScratchDSN: opts.RestoreInto})
	if err != nil {
		return err
	}
	defer t.Close()
	vo := backup.VerifyOptions{Store: t.Store, ID: t.ID, Identities: t.Identities, Workers: opts.Workers, Rename: rename, Force: opts.Force,
		Mark: !opts.NoMark, Tool: opts.Tool, Now: opts.Factory.Now, Log: backupflags.Logger(opts.IO.ErrOut, opts.Quiet)}
	if t.Scratch != nil {
		vo.RestoreInto = t.Scratch
	}
	// The markers are written as the vault's writer identity where it has one (the restore identity only
	// reads): a stack's vault on a cloud.
	writer := opts.Target
	writer.Writer = true
	if w, err := opts.Factory.BackupTargets().Open(ctx, target.Request{Flags: writer, ResolveOnly: true}); err == nil && w.StoreURL != "" && w.StoreURL != t.StoreURL {
		if wt, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: writer}); err == nil {
			defer wt.Close()
			vo.MarkStore = wt.Store
		}
	}
	rep, err := backup.Verify(ctx, vo)
	if rep != nil {
		if verr := views.BackupVerify(opts.IO.Out, opts.Output, rep); verr != nil && err == nil {
			err = verr
		}
	}
	if err != nil {
		return fmt.Errorf("backup verify: %w", err)
	}
	return nil
}
