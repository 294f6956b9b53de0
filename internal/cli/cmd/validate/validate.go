// Package validate implements `plinth validate`: check stack config against the environment spec and print
// every problem at once, each naming its config key.
package validate

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
)

// ValidateOptions are the inputs of `plinth validate`.
type ValidateOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)

	Stacks []string
	Output string
}

// NewCmdValidate builds `plinth validate`.
func NewCmdValidate(f *cmdutil.Factory, runF func(context.Context, *ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir}
	var stack string
	cmd := &cobra.Command{
		Use:   "validate [--stack NAME]",
		Short: "Check stack config against the environment spec; print every problem (exit 3 when invalid)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			opts.Stacks = []string{stack}
			if stack == "" {
				opts.Stacks = stackconfig.Names(opts.ProjectDir)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return validateRun(opts)
		},
	}
	cmd.Flags().StringVarP(&stack, "stack", "s", "", "stack to check (default: every stack under environments/)")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

// Problem is one config error.
type Problem struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// StackReport is the validation result of one stack.
type StackReport struct {
	Stack    string    `json:"stack"`
	Source   string    `json:"source"`
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
}

func validateRun(opts *ValidateOptions) error {
	var reports []StackReport
	invalid := 0
	for _, stack := range opts.Stacks {
		r, err := check(opts.ProjectDir, stack)
		if err != nil {
			return err
		}
		if !r.Valid {
			invalid++
		}
		reports = append(reports, r)
	}
	if err := views.Render(opts.IO.Out, opts.Output, reports, func(w io.Writer) error {
		for _, r := range reports {
			if r.Valid {
				fmt.Fprintf(w, "✓ %s: valid (%s)\n", r.Stack, r.Source)
				continue
			}
			fmt.Fprintf(w, "✗ %s: %d problem(s) (%s)\n", r.Stack, len(r.Problems), r.Source)
			for _, p := range r.Problems {
				fmt.Fprintf(w, "  - %s: %s\n", p.Key, p.Message)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if invalid > 0 {
		return cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, fmt.Errorf("%d of %d stack(s) invalid", invalid, len(reports)))
	}
	return nil
}

func check(projectDir func() (string, error), stack string) (StackReport, error) {
	data, source, err := stackconfig.File(projectDir, stack)
	if err != nil {
		return StackReport{}, err
	}
	r := StackReport{Stack: stack, Source: source, Valid: true, Problems: []Problem{}}
	_, err = environments.LoadFile(stack, data)
	if err == nil {
		return r, nil
	}
	r.Valid = false
	problems := environments.Problems(err)
	if len(problems) == 0 { // not a spec error: the document itself could not be read
		r.Problems = append(r.Problems, Problem{Key: source, Message: err.Error()})
		return r, nil
	}
	for _, p := range problems {
		r.Problems = append(r.Problems, Problem{Key: p.Key, Message: p.Msg})
	}
	return r, nil
}
