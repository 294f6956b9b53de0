// Package backupflags holds the flags the backup verbs and the drill share: what names the target (--stack,
// --cloud, --store, --dsn), the recipients, --rename, and the completion of backup IDs. Resolving and opening
// the target is internal/backup/target's (one Opener.Open, built by the Factory).
package backupflags

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cloud"
)

// AddStoreFlags registers --stack, --cloud and --store.
func AddStoreFlags(cmd *cobra.Command, f *target.Flags) {
	cmd.Flags().StringVarP(&f.Stack, "stack", "s", "", "stack whose inventory names the database and backup vault")
	cmd.Flags().StringVar(&f.Cloud, "cloud", "", "the stack's cloud: aws or local (default: the cloud the stack was provisioned into)")
	cmd.Flags().StringVar(&f.Store, "store", "", "backup store URL: gs://bucket[?prefix=p/], s3://bucket?region=r, file:///dir, mem:// (env "+target.EnvStore+")")
}

// AddDBFlags registers --dsn.
func AddDBFlags(cmd *cobra.Command, f *target.Flags, usage string) {
	cmd.Flags().StringVar(&f.DSN, "dsn", "", usage+" (go-sql-driver DSN user:pass@tcp(host:3306)/; env "+target.EnvDSN+" keeps the password out of ps)")
}

// Validate checks the target flags: --cloud names a cloud and goes with --stack.
func Validate(f target.Flags) error {
	switch f.Cloud {
	case "", cloud.AWS, cloud.Local:
	default:
		return cmdutil.FlagErrorf("--cloud: want aws or local, got %q", f.Cloud)
	}
	if f.Cloud != "" && f.Stack == "" {
		return cmdutil.FlagErrorf("--cloud: only with --stack")
	}
	return nil
}

// Open is the verbs' one set-up step: the Factory's target Opener, its errors given their exit codes.
func Open(ctx context.Context, f *cmdutil.Factory, req target.Request) (*target.Target, error) {
	t, err := f.BackupTargets().Open(ctx, req)
	return t, cmdutil.Coded(err)
}

// Context returns ctx, or a background context when the command was run without one (tests).
func Context(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// ParseRename parses old=new pairs.
func ParseRename(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" {
			return nil, cmdutil.FlagErrorf("--rename %q: want backed-up-db=target-db", p)
		}
		out[from] = to
	}
	return out, nil
}

// Logger writes progress lines to w (stderr) unless quiet.
func Logger(w interface{ Write([]byte) (int, error) }, quiet bool) backup.Logf {
	if quiet {
		return nil
	}
	return func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
}

// AddRecipientFlags registers --recipient and --recipients-file.
func AddRecipientFlags(cmd *cobra.Command, keys *[]string, file *string) {
	cmd.Flags().StringArrayVarP(keys, "recipient", "r", nil, "age X25519 public key to encrypt to (repeatable)")
	cmd.Flags().StringVar(file, "recipients-file", "", "file of age public keys, one per line")
}

// Recipients parses the --recipient keys and the keys of --recipients-file (a bad key is a usage error).
func Recipients(keys []string, file string) (backup.Recipients, error) {
	all := append([]string{}, keys...)
	if file != "" {
		more, err := backup.ReadRecipientsFile(file)
		if err != nil {
			return backup.Recipients{}, err
		}
		all = append(all, more...)
	}
	r, err := backup.ParseRecipients(all)
	if err != nil {
		return backup.Recipients{}, cmdutil.FlagErrorf("%v", err)
	}
	return r, nil
}

// Holder names this process in the vault's coordination objects (a scheduled run's claim, a binlog
// streamer's beats): the host and the pid.
func Holder() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d", h, os.Getpid())
}
