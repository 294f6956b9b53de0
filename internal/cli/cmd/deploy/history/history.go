// Package history implements `plinth deploy history`: the bastion's audit log.
package history

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/views"
)

// HistoryOptions are the inputs of `plinth deploy history`.
type HistoryOptions struct {
	IO      *iostreams.IOStreams
	Connect rollout.Connector
	Flags   shared.Flags
	Limit   int
	Tier    string
}

// NewCmdHistory builds `plinth deploy history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(context.Context, *HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "history --stack S [-n 20] [--tier T]",
		Short: "Who deployed what, when, and how it ended (the bastion's audit log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Flags.Validate(); err != nil {
				return err
			}
			if opts.Limit < 1 {
				return cmdutil.FlagErrorf("-n: want >= 1")
			}
			shared.Defaults(f, nil, &opts.Connect)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return historyRun(cmd.Context(), opts)
		},
	}
	shared.AddFlags(cmd, &opts.Flags)
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 20, "how many records")
	cmd.Flags().StringVarP(&opts.Tier, "tier", "t", "", "only this tier")
	return cmd
}

func historyRun(ctx context.Context, opts *HistoryOptions) error {
	env, err := opts.Connect(ctx, opts.Flags.Request)
	if err != nil {
		return cmdutil.Coded(err)
	}
	defer env.Close()
	// The log holds every stack: read more than asked, then filter.
	recs, err := env.State.History(ctx, opts.Limit*10)
	if err != nil {
		return err
	}
	var out []deploy.AuditRecord
	for _, r := range recs {
		if r.Stack == opts.Flags.Stack && (opts.Tier == "" || r.Tier == opts.Tier) {
			out = append(out, r)
		}
	}
	if len(out) > opts.Limit {
		out = out[len(out)-opts.Limit:]
	}
	return views.RenderHistory(opts.IO.Out, opts.Flags.Output == cmdutil.OutputJSON, out)
}
