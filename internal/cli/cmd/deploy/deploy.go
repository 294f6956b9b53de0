// Package deploy is the `plinth deploy` noun: the deploy itself and its rollback, lock and history verbs.
package deploy

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/history"
	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/lock"
	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/rollback"
	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/run"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// NewCmdDeploy builds `plinth deploy` (which deploys) with rollback, lock and history.
func NewCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	cmd := run.NewCmdRun(f, nil)
	cmd.AddCommand(rollback.NewCmdRollback(f, nil))
	cmd.AddCommand(lock.NewCmdLock(f, nil))
	cmd.AddCommand(history.NewCmdHistory(f, nil))
	return cmd
}
