// Package refresh implements `plinth refresh`: read every resource from the cloud into the stack's state.
package refresh

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// RefreshOptions are the inputs of `plinth refresh`.
type RefreshOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	Getenv     func(string) string
	Open       engineflags.Opener

	Stack  string
	Output string
	Engine engineflags.Flags
}

// NewCmdRefresh builds `plinth refresh`. runF replaces the run function in tests.
func NewCmdRefresh(f *cmdutil.Factory, runF func(context.Context, *RefreshOptions) error) *cobra.Command {
	opts := &RefreshOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Getenv: f.Getenv, Open: engineflags.OpenEngine}
	cmd := &cobra.Command{
		Use:   "refresh --stack NAME",
		Short: "Update the stack's state to match the cloud (accepts drift)",
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
			return refreshRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name: staging, preproduction, production")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	engineflags.Add(cmd, &opts.Engine)
	return cmd
}

func refreshRun(ctx context.Context, opts *RefreshOptions) error {
	asJSON := opts.Output == cmdutil.OutputJSON
	env := engineflags.Env{IO: opts.IO, ProjectDir: opts.ProjectDir, Getenv: opts.Getenv}
	e, err := engineflags.Open(ctx, env, opts.Open, opts.Stack, opts.Engine, asJSON)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Refresh(ctx)
	if err != nil {
		return engineflags.ExitErr(err)
	}
	return views.EngineResult(opts.IO.Out, asJSON, res)
}
