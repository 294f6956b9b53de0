// Package policy is `plinth policy`: the platform's rules, checked offline.
package policy

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/policy/check"
	"github.com/plinth-dev/plinth/internal/cli/cmd/policy/list"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// NewCmdPolicy builds `plinth policy`.
func NewCmdPolicy(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy <command>",
		Short: "Check a stack against the platform's security and redundancy rules",
	}
	cmd.AddCommand(check.NewCmdCheck(f, nil), list.NewCmdList(f, nil))
	return cmd
}
