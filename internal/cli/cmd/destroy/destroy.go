// Package destroy implements `plinth destroy`: delete every resource of a stack.
package destroy

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/views"
)

// DestroyOptions are the inputs of `plinth destroy`.
type DestroyOptions struct {
	engineflags.Common

	Yes bool
}

// NewCmdDestroy builds `plinth destroy`. runF replaces the run function in tests.
func NewCmdDestroy(f *cmdutil.Factory, runF func(context.Context, *DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{Common: engineflags.NewCommon(f)}
	cmd := &cobra.Command{
		Use:   "destroy --stack NAME --yes",
		Short: "Delete every resource of a stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if !opts.Yes {
				return cmdutil.FlagErrorf("destroy deletes every resource of %s: pass --yes to confirm", opts.Stack)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return destroyRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "confirm: delete every resource of the stack")
	return cmd
}

func destroyRun(ctx context.Context, opts *DestroyOptions) error {
	e, err := opts.OpenStack(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Destroy(ctx)
	if err != nil {
		return cmdutil.Coded(err)
	}
	return views.EngineResult(opts.IO.Out, opts.Output, res)
}
