package cli

import (
	"github.com/spf13/cobra"

	backupcmd "github.com/plinth-dev/plinth/internal/cli/cmd/backup"
	deploycmd "github.com/plinth-dev/plinth/internal/cli/cmd/deploy"
	destroycmd "github.com/plinth-dev/plinth/internal/cli/cmd/destroy"
	driftcmd "github.com/plinth-dev/plinth/internal/cli/cmd/drift"
	drillcmd "github.com/plinth-dev/plinth/internal/cli/cmd/drill"
	graphcmd "github.com/plinth-dev/plinth/internal/cli/cmd/graph"
	localcmd "github.com/plinth-dev/plinth/internal/cli/cmd/local"
	policycmd "github.com/plinth-dev/plinth/internal/cli/cmd/policy"
	previewcmd "github.com/plinth-dev/plinth/internal/cli/cmd/preview"
	refreshcmd "github.com/plinth-dev/plinth/internal/cli/cmd/refresh"
	upcmd "github.com/plinth-dev/plinth/internal/cli/cmd/up"
	validatecmd "github.com/plinth-dev/plinth/internal/cli/cmd/validate"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// addCommands wires every noun into the root. One line per command group.
func addCommands(root *cobra.Command, f *cmdutil.Factory) {
	root.AddCommand(backupcmd.NewCmdBackup(f))
	root.AddCommand(deploycmd.NewCmdDeploy(f))
	root.AddCommand(previewcmd.NewCmdPreview(f, nil), validatecmd.NewCmdValidate(f, nil), policycmd.NewCmdPolicy(f))
	root.AddCommand(graphcmd.NewCmdGraph(f, nil))
	root.AddCommand(drillcmd.NewCmdDrill(f, nil))
	root.AddCommand(localcmd.NewCmdLocal(f))
	root.AddCommand(upcmd.NewCmdUp(f, nil), refreshcmd.NewCmdRefresh(f, nil), destroycmd.NewCmdDestroy(f, nil), driftcmd.NewCmdDrift(f, nil))
}
