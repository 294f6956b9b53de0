package cli

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// registerCompletions teaches shell completion (`plinth completion bash|zsh|fish|powershell`) the project, in
// one place for the whole tree: every --stack completes the stacks under environments/, every --cloud aws and
// local, every --tier the compute tiers, and the backup verbs that take an ID (verify, restore) the backups in the vault.
func registerCompletions(cmd *cobra.Command, f *cmdutil.Factory) {
	if cmd.Flags().Lookup("stack") != nil {
		_ = cmd.RegisterFlagCompletionFunc("stack", cmdutil.CompleteStacks(f.ProjectDir))
	}
	if cmd.Flags().Lookup("cloud") != nil {
		_ = cmd.RegisterFlagCompletionFunc("cloud", cmdutil.CompleteClouds)
	}
	if cmd.Flags().Lookup("tier") != nil {
		_ = cmd.RegisterFlagCompletionFunc("tier", cmdutil.CompleteTiers)
	}
	if p := cmd.Parent(); p != nil && p.Name() == "backup" && (cmd.Name() == "verify" || cmd.Name() == "restore") &&
		cmd.ValidArgsFunction == nil {
		cmd.ValidArgsFunction = backupflags.CompleteIDs(f)
	}
	for _, sub := range cmd.Commands() {
		registerCompletions(sub, f)
	}
}
