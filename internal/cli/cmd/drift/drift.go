// Package drift implements `plinth drift`: a read-only refresh preview listing resources changed outside
// Pulumi; exit code 5 when there is drift.
package drift

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// DriftOptions are the inputs of `plinth drift`.
type DriftOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	Getenv     func(string) string
	Open       engineflags.Opener

	Stack  string
	Output string
	Engine engineflags.Flags
}

// NewCmdDrift builds `plinth drift`. runF replaces the run function in tests.
func NewCmdDrift(f *cmdutil.Factory, runF func(context.Context, *DriftOptions) error) *cobra.Command {
	opts := &DriftOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Getenv: f.Getenv, Open: engineflags.OpenEngine}
	cmd := &cobra.Command{
		Use:   "drift --stack NAME",
		Short: "List resources changed outside Pulumi (read-only; exit code 5 on drift)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if err := opts.Engine.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return driftRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name: staging, preproduction, production")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	engineflags.Add(cmd, &opts.Engine)
	return cmd
}

func driftRun(ctx context.Context, opts *DriftOptions) error {
	asJSON := opts.Output == cmdutil.OutputJSON
	env := engineflags.Env{IO: opts.IO, ProjectDir: opts.ProjectDir, Getenv: opts.Getenv}
	// Engine progress is noise for a drift check: only the report is printed.
	e, err := engineflags.Open(ctx, env, quiet(opts.Open), opts.Stack, opts.Engine, asJSON)
	if err != nil {
		return err
	}
	defer e.Close()
	rep, err := e.Drift(ctx)
	if err != nil {
		return engineflags.ExitErr(err)
	}
	if err := views.DriftReport(opts.IO.Out, asJSON, rep); err != nil {
		return err
	}
	if rep.HasDrift {
		return cmdutil.SilentExit(cmdutil.ExitDrift)
	}
	return nil
}
