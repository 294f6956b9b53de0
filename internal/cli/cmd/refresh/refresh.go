// Package refresh implements `plinth refresh`: read every resource from the cloud into the stack's state.
package refresh

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/views"
)

// RefreshOptions are the inputs of `plinth refresh`.
type RefreshOptions struct {
	engineflags.Common
}

// NewCmdRefresh builds `plinth refresh`. runF replaces the run function in tests.
func NewCmdRefresh(f *cmdutil.Factory, runF func(context.Context, *RefreshOptions) error) *cobra.Command {
	opts := &RefreshOptions{Common: engineflags.NewCommon(f)}
	cmd := &cobra.Command{
		Use:   "refresh --stack NAME",
		Short: "Update the stack's state to match the cloud (accepts drift)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return refreshRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	return cmd
}

func refreshRun(ctx context.Context, opts *RefreshOptions) error {
	e, err := opts.OpenStack(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Refresh(ctx)
	if err != nil {
		return cmdutil.Coded(err)
	}
	return views.EngineResult(opts.IO.Out, opts.Output, res)
}
