package preview

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/policy/rules"
	"github.com/plinth-dev/plinth/stacks"
)

// Evaluate loads a stack's config, validates it (every error at once, exit code 3) and evaluates the
// program under the mock engine. Shared with `plinth policy check`.
func Evaluate(projectDir func() (string, error), stack string) (*offline.Result, string, error) {
	data, source, err := cmdutil.StackFile(projectDir, stack)
	if err != nil {
		return nil, source, err
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		return nil, source, cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, fmt.Errorf("%s: %w", source, err))
	}
	if _, err := environments.Load(stack, cfg.Values); err != nil {
		return nil, source, cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, fmt.Errorf("stack %s (%s): %w", stack, source, err))
	}
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		return nil, source, err
	}
	return res, source, nil
}

func offlineRun(_ context.Context, opts *PreviewOptions) error {
	res, source, err := Evaluate(opts.ProjectDir, opts.Stack)
	if err != nil {
		return err
	}
	view := views.NewPreview(res, source)
	view.Violations = append(view.Violations, policyeval.Check(res)...)
	if opts.Output == cmdutil.OutputJSON {
		err = views.JSON(opts.IO.Out, view)
	} else {
		err = views.PreviewHuman(opts.IO.Out, view, res.StackURN)
	}
	if err != nil {
		return err
	}
	if rules.AnyMandatory(view.Violations) {
		return cmdutil.WithExitCode(cmdutil.ExitPolicyViolation, fmt.Errorf("stack %s: mandatory policy violations", opts.Stack))
	}
	return nil
}
