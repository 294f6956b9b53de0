package backupflags

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// completeTimeout bounds how long a shell waits for the vault's listing.
const completeTimeout = 10 * time.Second

// CompleteIDs completes a backup ID argument: "latest", then the complete backups in the vault that the
// command's --stack/--store (or the environment) name, newest first, each described by its time. A vault that
// cannot be read completes only "latest" (completion never fails loudly; `plinth __complete` shows why).
func CompleteIDs(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		directive := cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
		if len(args) > 0 {
			return nil, directive
		}
		var out []cobra.Completion
		if strings.HasPrefix("latest", toComplete) {
			out = append(out, cobra.CompletionWithDesc("latest", "the newest restorable backup"))
		}
		var req target.Request
		req.Stack, _ = cmd.Flags().GetString("stack")
		req.Cloud, _ = cmd.Flags().GetString("cloud")
		req.Store, _ = cmd.Flags().GetString("store")
		ctx, cancel := context.WithTimeout(Context(cmd.Context()), completeTimeout)
		defer cancel()
		t, err := f.BackupTargets().Open(ctx, req)
		if err != nil {
			cobra.CompDebugln("backup IDs: "+err.Error(), true)
			return out, directive
		}
		defer t.Close()
		entries, err := backup.List(ctx, t.Store)
		if err != nil {
			cobra.CompDebugln("backup IDs: "+err.Error(), true)
			return out, directive
		}
		for _, e := range entries {
			if e.Complete && strings.HasPrefix(e.ID, toComplete) {
				out = append(out, cobra.CompletionWithDesc(e.ID, e.Time.UTC().Format("2006-01-02 15:04 UTC")))
			}
		}
		return out, directive
	}
}
