package cli

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// addCommands wires every noun into the root. One line per command group.
func addCommands(root *cobra.Command, f *cmdutil.Factory) {
	_ = f
}
