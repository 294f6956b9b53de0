// Package backup is the `plinth backup` noun: run, list, verify, restore, prune, keygen, binlog.
package backup

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/binlog"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/keygen"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/list"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/prune"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/restore"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/run"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/verify"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// NewCmdBackup builds `plinth backup`.
func NewCmdBackup(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup <command>",
		Short: "Encrypted cross-cloud database backups: run, list, verify, restore, prune, binlog, keygen",
		Long: `Backups are consistent logical dumps of MySQL/MariaDB, compressed with zstd, encrypted with age to
X25519 recipients (backup hosts hold only public keys) and streamed to object storage (gs://, s3://,
file://, mem://). A backup's manifest is written last; without it the backup is incomplete.`,
	}
	cmd.AddCommand(run.NewCmdRun(f, nil))
	cmd.AddCommand(list.NewCmdList(f, nil))
	cmd.AddCommand(verify.NewCmdVerify(f, nil))
	cmd.AddCommand(restore.NewCmdRestore(f, nil))
	cmd.AddCommand(prune.NewCmdPrune(f, nil))
	cmd.AddCommand(keygen.NewCmdKeygen(f, nil))
	cmd.AddCommand(binlog.NewCmdBinlog(f, nil))
	return cmd
}
