package preview

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/policy/rules"
)

func offlineRun(_ context.Context, opts *PreviewOptions) error {
	res, source, err := stackconfig.EvaluateStack(opts.ProjectDir, opts.Stack)
	if err != nil {
		return cmdutil.Coded(err)
	}
	view := views.NewPreview(res, source)
	view.Violations = append(view.Violations, policyeval.Check(res)...)
	if err := views.OfflinePreview(opts.IO.Out, opts.Output, view, res.StackURN); err != nil {
		return err
	}
	if rules.AnyMandatory(view.Violations) {
		return cmdutil.WithExitCode(cmdutil.ExitPolicyViolation, fmt.Errorf("stack %s: mandatory policy violations", opts.Stack))
	}
	return nil
}
