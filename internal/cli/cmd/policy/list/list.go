// Package list implements `plinth policy rules`: the rule catalogue.
package list

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/policy/rules"
)

// ListOptions are the inputs of `plinth policy rules`.
type ListOptions struct {
	IO     *iostreams.IOStreams
	Output string
}

// RuleInfo is one catalogue entry.
type RuleInfo struct {
	ID          string      `json:"id"`
	Level       rules.Level `json:"level"`
	Description string      `json:"description"`
	Fix         string      `json:"fix"`
}

// NewCmdList builds `plinth policy rules`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the policy rules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(opts *ListOptions) error {
	var infos []RuleInfo
	for _, r := range rules.All() {
		infos = append(infos, RuleInfo{ID: r.ID, Level: r.Level, Description: r.Description, Fix: r.Fix})
	}
	return views.Render(opts.IO.Out, opts.Output, infos, func(w io.Writer) error {
		for _, r := range infos {
			if _, err := fmt.Fprintf(w, "%-28s %-9s %s\n", r.ID, r.Level, r.Description); err != nil {
				return err
			}
		}
		return nil
	})
}
