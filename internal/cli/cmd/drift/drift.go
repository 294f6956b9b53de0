// Package drift implements `plinth drift`: a read-only refresh preview listing resources changed outside
// Pulumi; exit code 5 when there is drift.
package drift

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/views"
)

// DriftOptions are the inputs of `plinth drift`.
type DriftOptions struct {
	engineflags.Common
}

// NewCmdDrift builds `plinth drift`. runF replaces the run function in tests.
func NewCmdDrift(f *cmdutil.Factory, runF func(context.Context, *DriftOptions) error) *cobra.Command {
	opts := &DriftOptions{Common: engineflags.NewCommon(f)}
	cmd := &cobra.Command{
		Use:   "drift --stack NAME",
		Short: "List resources changed outside Pulumi (read-only; exit code 5 on drift)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return driftRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func driftRun(ctx context.Context, opts *DriftOptions) error {
	// Engine progress is noise for a drift check: only warnings, errors and the report are printed.
	quietOpts := *opts
	quietOpts.Open = quiet(opts.Open)
	e, err := quietOpts.OpenStack(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	rep, err := e.Drift(ctx)
	if err != nil {
		return cmdutil.Coded(err)
	}
	if err := views.DriftReport(opts.IO.Out, opts.Output, rep); err != nil {
		return err
	}
	if rep.HasDrift {
		return cmdutil.SilentExit(cmdutil.ExitDrift)
	}
	return nil
}
