// Package preview implements `plinth preview`: offline (Pulumi's mock engine) or through the real engine.
package preview

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

// PreviewOptions are the inputs of `plinth preview`.
type PreviewOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)

	Stack   string
	Offline bool
	Output  string
	Engine  EngineOptions
}

// NewCmdPreview builds `plinth preview`. runF replaces the run function in tests.
func NewCmdPreview(f *cmdutil.Factory, runF func(context.Context, *PreviewOptions) error) *cobra.Command {
	opts := &PreviewOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Engine: EngineOptions{Program: f.Program}}
	cmd := &cobra.Command{
		Use:   "preview --stack NAME [--offline]",
		Short: "Show what the program would create for a stack",
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
			return previewRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name: staging, preproduction, production")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "evaluate with Pulumi's mock engine: no cloud, no credentials")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	addEngineFlags(cmd, &opts.Engine)
	return cmd
}

func previewRun(ctx context.Context, opts *PreviewOptions) error {
	if opts.Offline {
		return offlineRun(ctx, opts)
	}
	return engineRun(ctx, opts)
}
