// Package destroy implements `plinth destroy`: delete every resource of a stack.
package destroy

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// DestroyOptions are the inputs of `plinth destroy`.
type DestroyOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	Getenv     func(string) string
	Open       engineflags.Opener

	Stack  string
	Output string
	Yes    bool
	Engine engineflags.Flags
}

// NewCmdDestroy builds `plinth destroy`. runF replaces the run function in tests.
func NewCmdDestroy(f *cmdutil.Factory, runF func(context.Context, *DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Getenv: f.Getenv, Open: engineflags.OpenEngine}
	cmd := &cobra.Command{
		Use:   "destroy --stack NAME --yes",
		Short: "Delete every resource of a stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			if !opts.Yes {
				return cmdutil.FlagErrorf("destroy deletes every resource of %s: pass --yes to confirm", opts.Stack)
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
			return destroyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name: staging, preproduction, production")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "confirm: delete every resource of the stack")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	engineflags.Add(cmd, &opts.Engine)
	return cmd
}

func destroyRun(ctx context.Context, opts *DestroyOptions) error {
	asJSON := opts.Output == cmdutil.OutputJSON
	env := engineflags.Env{IO: opts.IO, ProjectDir: opts.ProjectDir, Getenv: opts.Getenv}
	e, err := engineflags.Open(ctx, env, opts.Open, opts.Stack, opts.Engine, asJSON)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Destroy(ctx)
	if err != nil {
		return engineflags.ExitErr(err)
	}
	return views.EngineResult(opts.IO.Out, asJSON, res)
}
