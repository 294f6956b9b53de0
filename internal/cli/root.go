// Package cli is plinth's command line: the root command, and the one place exit codes are decided.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/livecloud"
)

// Version is stamped at build time with -ldflags "-X github.com/plinth-dev/plinth/internal/cli.Version=...".
var Version = "dev"

// NewCmdRoot builds the plinth command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "plinth",
		Short:         "Provision, deploy, back up and drill the platform, in AWS or a local cloud",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(f.IOStreams.In)
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	addCommands(root, f)
	registerCompletions(root, f)
	return root
}

// Main runs plinth and returns the process exit code.
func Main() int {
	f := cmdutil.New()
	f.StackOutputs = engineflags.StackOutputs(f.Getenv, f.ProjectDir)
	f.StackCloud = engineflags.StackCloud(f.Getenv, f.ProjectDir)
	f.DeployConnect = deployConnect(f)
	f.DrillPlatform = drillPlatform(f)
	f.DrillCloud = drillCloud(f)
	f.DrillRelease = drillRelease(f)
	f.DrillAccess = drillAccess(f)
	if lc, err := livecloud.New(f.Getenv); err == nil {
		f.LocalCloud = lc
		f.LocalCloudLive = livecloud.Hooks(f.Getenv, f.IOStreams.ErrOut)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewCmdRoot(f)
	err := root.ExecuteContext(ctx)
	return ExitCode(err, f, ctx.Err() != nil)
}

// ExitCode prints err (unless silent) and maps it to plinth's exit code through the one table
// (cmdutil.ExitRules).
func ExitCode(err error, f *cmdutil.Factory, cancelled bool) int {
	if err == nil {
		return cmdutil.ExitOK
	}
	if !errors.Is(err, cmdutil.ErrSilent) {
		fmt.Fprintf(f.IOStreams.ErrOut, "error: %v\n", err)
	}
	code := cmdutil.ExitCodeOf(err)
	if code == cmdutil.ExitFailure && cancelled {
		return cmdutil.ExitCancelled
	}
	return code
}
