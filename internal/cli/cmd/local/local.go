// Package local implements `plinth local`: the live local cloud's server (`serve`, hidden: the process
// `--cloud local` commands start on demand), what it runs (`status`), stopping it (`stop`) and bringing it
// back (`start`).
package local

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// errNotLinked: this build has no live local cloud.
var errNotLinked = errors.New("the live local cloud is not linked into this plinth build")

// NewCmdLocal builds `plinth local` and its subcommands.
func NewCmdLocal(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "The live local cloud: what `--cloud local` runs on this machine (on as root unless PLINTH_LOCAL_LIVE=0)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdServe(f, nil), NewCmdStatus(f, nil), NewCmdStart(f, nil), NewCmdStop(f, nil))
	return cmd
}

// ServeOptions are the inputs of `plinth local serve`.
type ServeOptions struct {
	Cloud         cmdutil.LocalCloud
	LocalCloudDir string
}

// NewCmdServe builds the hidden `plinth local serve`. runF replaces the run function in tests.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{Cloud: f.LocalCloud}
	cmd := &cobra.Command{
		Use:    "serve --local-cloud-dir DIR",
		Short:  "Run the live local cloud's server (started on demand by --cloud local commands)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.LocalCloudDir == "" {
				return cmdutil.FlagErrorf("--local-cloud-dir is required")
			}
			if opts.Cloud == nil {
				return errNotLinked
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return opts.Cloud.Serve(cmd.Context(), opts.LocalCloudDir)
		},
	}
	cmd.Flags().StringVar(&opts.LocalCloudDir, "local-cloud-dir", "", "the local cloud's state directory (its records seed each stack)")
	return cmd
}

// StatusOptions are the inputs of `plinth local status`.
type StatusOptions struct {
	IO    *iostreams.IOStreams
	Cloud cmdutil.LocalCloud

	Stack  string
	Output string
}

// NewCmdStatus builds `plinth local status`. runF replaces the run function in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Cloud: f.LocalCloud}
	cmd := &cobra.Command{
		Use:   "status [--stack NAME] [-o json]",
		Short: "List what the live local cloud runs: each stack's URL, CA file, bastion and hosts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if opts.Cloud == nil {
				return errNotLinked
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "only this stack")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	st, err := opts.Cloud.Status(ctx)
	if err != nil {
		return err
	}
	st = filterStack(st, opts.Stack)
	return views.Render(opts.IO.Out, opts.Output, st, func(w io.Writer) error { return viewStatus(w, st) })
}

// filterStack keeps only stack (all when "").
func filterStack(st cmdutil.LocalStatus, stack string) cmdutil.LocalStatus {
	if stack == "" {
		return st
	}
	out := st
	out.Stacks = []cmdutil.LocalStackStatus{}
	for _, s := range st.Stacks {
		if s.Stack == stack {
			out.Stacks = append(out.Stacks, s)
		}
	}
	return out
}

// StopOptions are the inputs of `plinth local stop`.
type StopOptions struct {
	IO    *iostreams.IOStreams
	Cloud cmdutil.LocalCloud
}

// NewCmdStop builds `plinth local stop`. runF replaces the run function in tests.
func NewCmdStop(f *cmdutil.Factory, runF func(context.Context, *StopOptions) error) *cobra.Command {
	opts := &StopOptions{IO: f.IOStreams, Cloud: f.LocalCloud}
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop every process of the live local cloud (the local cloud's records stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Cloud == nil {
				return errNotLinked
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return stopRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func stopRun(ctx context.Context, opts *StopOptions) error {
	stopped, err := opts.Cloud.Stop(ctx)
	if err != nil {
		return err
	}
	return viewStopped(opts.IO.Out, stopped)
}

// StartOptions are the inputs of `plinth local start`.
type StartOptions struct {
	IO    *iostreams.IOStreams
	Cloud cmdutil.LocalCloud

	Output string
}

// NewCmdStart builds `plinth local start`. runF replaces the run function in tests.
func NewCmdStart(f *cmdutil.Factory, runF func(context.Context, *StartOptions) error) *cobra.Command {
	opts := &StartOptions{IO: f.IOStreams, Cloud: f.LocalCloud}
	cmd := &cobra.Command{
		Use:   "start [-o json]",
		Short: "Bring the live local cloud back after `plinth local stop`: every stack that ran, at the addresses and ports it had",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if opts.Cloud == nil {
				return errNotLinked
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return startRun(cmd.Context(), opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func startRun(ctx context.Context, opts *StartOptions) error {
	st, err := opts.Cloud.Start(ctx)
	if err != nil {
		return err
	}
	return views.Render(opts.IO.Out, opts.Output, st, func(w io.Writer) error { return viewStatus(w, st) })
}
