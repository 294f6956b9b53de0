// Package lock implements `plinth deploy lock status|release`.
package lock

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/views"
)

// LockOptions are the inputs of `plinth deploy lock status|release`.
type LockOptions struct {
	IO      *iostreams.IOStreams
	Now     func() time.Time
	Holder  string
	Connect rollout.Connector
	Flags   shared.Flags
	Release bool
	Message string
}

// NewCmdLock builds `plinth deploy lock` with its status and release verbs.
func NewCmdLock(f *cmdutil.Factory, runF func(context.Context, *LockOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock (status|release) --stack S",
		Short: "Show or force-release a stack's deploy lock (held on the bastion)",
		Args:  cobra.NoArgs,
	}
	for _, verb := range []string{"status", "release"} {
		opts := &LockOptions{IO: f.IOStreams, Now: f.Now, Release: verb == "release"}
		short := "Show who holds the stack's deploy lock (exit 6 when held)"
		if opts.Release {
			short = "Force-release the stack's deploy lock (recorded in the audit log)"
		}
		sub := &cobra.Command{
			Use:   verb + " --stack S",
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := opts.Flags.Validate(); err != nil {
					return err
				}
				shared.Defaults(f, &opts.Holder, &opts.Connect)
				if runF != nil {
					return runF(cmd.Context(), opts)
				}
				return lockRun(cmd.Context(), opts)
			},
		}
		shared.AddFlags(sub, &opts.Flags)
		if opts.Release {
			sub.Flags().StringVarP(&opts.Message, "message", "m", "", "why the lock is forced: recorded in the audit log")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

func lockRun(ctx context.Context, opts *LockOptions) error {
	env, err := opts.Connect(ctx, opts.Flags.Request)
	if err != nil {
		return cmdutil.Coded(err)
	}
	defer env.Close()
	jsonOut := opts.Flags.Output == cmdutil.OutputJSON
	stack := opts.Flags.Stack
	info, err := env.State.Status(ctx, stack)
	if err != nil {
		return err
	}
	if !opts.Release {
		if err := views.RenderLock(opts.IO.Out, jsonOut, stack, info); err != nil {
			return err
		}
		if info != nil {
			return cmdutil.SilentExit(cmdutil.ExitLocked)
		}
		return nil
	}
	if info == nil {
		return views.RenderLock(opts.IO.Out, jsonOut, stack, nil)
	}
	if err := env.State.Release(ctx, stack, ""); err != nil {
		return err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	rec := deploy.AuditRecord{Time: now().UTC(), ID: info.ID, Holder: opts.Holder, Stack: stack, Tier: info.Tier,
		Action: "lock-release", Version: info.Version, Result: "succeeded",
		Message: "forced release of the lock held by " + info.Holder + ": " + opts.Message}
	if err := env.State.Audit(ctx, rec); err != nil {
		return err
	}
	return views.RenderLock(opts.IO.Out, jsonOut, stack, nil)
}
