package engineflags

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

// Common are the inputs every engine command has: its dependencies, --stack, --output and the engine flags.
type Common struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	Getenv     func(string) string
	// Program is the Pulumi program the engine runs.
	Program pulumi.RunFunc
	// Open opens the stack (the real engine; a fake in tests).
	Open Opener

	Stack  string
	Output string
	Engine Flags
}

// NewCommon takes the dependencies from the Factory.
func NewCommon(f *cmdutil.Factory) Common {
	return Common{IO: f.IOStreams, ProjectDir: f.ProjectDir, Getenv: f.Getenv, Program: f.Program,
		Open: WithLocalCloudLive(f, OpenEngine)}
}

// AddFlags registers --stack, --output and the engine flags.
func (c *Common) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&c.Stack, "stack", "s", "", "stack name: staging, preproduction, production")
	cmdutil.AddOutputFlag(cmd, &c.Output)
	Add(cmd, &c.Engine)
}

// Validate checks the common flags.
func (c *Common) Validate() error {
	if c.Stack == "" {
		return cmdutil.FlagErrorf("--stack is required")
	}
	if err := cmdutil.ValidateOutput(c.Output); err != nil {
		return err
	}
	return c.Engine.Validate()
}

// OpenStack resolves the options and opens the stack.
func (c *Common) OpenStack(ctx context.Context) (Engine, error) {
	return Open(ctx, c.env(), c.Open, c.Stack, c.Engine, c.Output)
}

func (c *Common) env() Env {
	return Env{IO: c.IO, ProjectDir: c.ProjectDir, Getenv: c.Getenv, Program: c.Program}
}
