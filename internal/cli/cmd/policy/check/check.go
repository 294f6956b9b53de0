// Package check implements `plinth policy check --stack S`: evaluate the program offline (mock engine) and run
// every rule; exit 4 on a mandatory violation.
package check

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/policy/rules"
)

// CheckOptions are the inputs of `plinth policy check`.
type CheckOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)

	Stack  string
	Output string
	// Evaluate produces the stack's resources (default: the offline mock-engine evaluation).
	Evaluate func(projectDir func() (string, error), stack string) (*offline.Result, string, error)
}

// NewCmdCheck builds `plinth policy check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Evaluate: stackconfig.EvaluateStack}
	cmd := &cobra.Command{
		Use:   "check --stack NAME",
		Short: "Run every policy rule over the stack's resources (offline); exit 4 on a mandatory violation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func checkRun(opts *CheckOptions) error {
	res, _, err := opts.Evaluate(opts.ProjectDir, opts.Stack)
	if err != nil {
		return err
	}
	vs := policyeval.Check(res)
	report := views.NewPolicyReport(opts.Stack, len(rules.All()), len(res.Resources), vs)
	if err := views.PolicyCheck(opts.IO.Out, opts.Output, report); err != nil {
		return err
	}
	if report.Mandatory > 0 {
		return cmdutil.WithExitCode(cmdutil.ExitPolicyViolation,
			fmt.Errorf("stack %s: %d mandatory policy violation(s)", opts.Stack, report.Mandatory))
	}
	return nil
}
