// Package list implements `plinth backup list`.
package list

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// ListOptions are the inputs of `plinth backup list`.
type ListOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	Target target.Flags
	All    bool
	Output string
}

// NewCmdList builds `plinth backup list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "list [--stack S | --store URL] [--all]",
		Short: "List restorable backups, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := backupflags.Validate(opts.Target); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
	backupflags.AddStoreFlags(cmd, &opts.Target)
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "include incomplete (interrupted or running) backups")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(opts *ListOptions) error {
	ctx := backupflags.Context(opts.Ctx)
	t, err := backupflags.Open(ctx, opts.Factory, target.Request{Flags: opts.Target})
	if err != nil {
		return err
	}
	defer t.Close()
	entries, err := backup.List(ctx, t.Store)
	if err != nil {
		return err
	}
	return views.BackupList(opts.IO.Out, opts.Output, entries, opts.All)
}
