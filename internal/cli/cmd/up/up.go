// Package up implements `plinth up`: apply the program to a stack through the real Pulumi engine.
package up

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/views"
)

// UpOptions are the inputs of `plinth up`.
type UpOptions struct {
	engineflags.Common

	Plan              string
	OverridePromotion string
}

// NewCmdUp builds `plinth up`. runF replaces the run function in tests.
func NewCmdUp(f *cmdutil.Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	opts := &UpOptions{Common: engineflags.NewCommon(f)}
	cmd := &cobra.Command{
		Use:   "up --stack NAME [--plan FILE] [--cloud local]",
		Short: "Create or update a stack's resources through the Pulumi engine",
		Long: `Apply the program to a stack. With --plan, apply exactly a plan saved by
'plinth preview --save-plan' (refused if the program or config changed since); the plan's sha256 is
recorded on the stack. production only accepts a revision (git commit + config hash) preproduction
applied; --override-promotion REASON applies anyway and records who and why on the stack.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return upRun(cmd.Context(), opts)
		},
	}
	opts.AddFlags(cmd)
	cmd.Flags().StringVar(&opts.Plan, "plan", "", "apply exactly the plan in `FILE`, saved by plinth preview --save-plan")
	cmd.Flags().StringVar(&opts.OverridePromotion, "override-promotion", "", "apply despite the promotion gate; the reason is recorded on the stack")
	return cmd
}

func upRun(ctx context.Context, opts *UpOptions) error {
	if err := opts.Gate(ctx); err != nil {
		return err
	}
	e, err := opts.OpenStack(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Up(ctx, provision.UpOptions{
		Plan: opts.Plan, OverridePromotion: opts.OverridePromotion, Operator: engineflags.Operator(opts.Getenv),
	})
	if err != nil {
		return cmdutil.Coded(err)
	}
	return views.EngineResult(opts.IO.Out, opts.Output, res)
}
