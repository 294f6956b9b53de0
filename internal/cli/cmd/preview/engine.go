package preview

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/views"
)

// EngineOptions are the flags of a preview run by the real Pulumi engine (Automation API).
type EngineOptions struct {
	engineflags.Flags
	// SavePlan writes the reviewed plan for `plinth up --plan`.
	SavePlan string
	// Program is the Pulumi program the engine runs (the Factory's).
	Program pulumi.RunFunc
	// Getenv and Open are seams for tests (default os.Getenv and the real engine).
	Getenv func(string) string
	Open   engineflags.Opener
}

func addEngineFlags(cmd *cobra.Command, o *EngineOptions) {
	engineflags.Add(cmd, &o.Flags)
	cmd.Flags().StringVar(&o.SavePlan, "save-plan", "", "write the plan to `FILE` for plinth up --plan FILE (CI applies exactly what was reviewed)")
}

func engineRun(ctx context.Context, opts *PreviewOptions) error {
	env := engineflags.Env{IO: opts.IO, ProjectDir: opts.ProjectDir, Getenv: opts.Engine.Getenv, Program: opts.Engine.Program}
	if err := engineflags.Gate(ctx, env, opts.Stack, opts.Engine.Flags); err != nil {
		return err
	}
	e, err := engineflags.Open(ctx, env, opts.Engine.Open, opts.Stack, opts.Engine.Flags, opts.Output)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Preview(ctx, provision.PreviewOptions{SavePlan: opts.Engine.SavePlan})
	if err != nil {
		return cmdutil.Coded(err)
	}
	return views.EngineResult(opts.IO.Out, opts.Output, res)
}
