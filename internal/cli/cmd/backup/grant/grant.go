// Package grant implements `plinth backup grant`.
package grant

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/cloud"
)

// GrantOptions are the inputs of `plinth backup grant`.
type GrantOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context

	Stack string
	Cloud string
}

// NewCmdGrant builds `plinth backup grant`. It is a verb of its own, not a step of `up`: it needs the
// database's master secret and a connection through the bastion, which an engine run neither holds nor
// should (the program never sees the master password: RDS manages it), and an operator runs it once per
// stack (again to re-apply the privileges; the password is kept).
func NewCmdGrant(f *cmdutil.Factory, runF func(*GrantOptions) error) *cobra.Command {
	opts := &GrantOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "grant --stack S",
		Short: "Create the stack's least-privilege backup and application users from the master secret; their passwords become secrets",
		Long: "Connects to the stack's primary through the bastion as the master user (the managed secret the program\n" +
			"asked for), creates " + cloud.BackupUser + " with only what a backup needs (" + cloud.BackupPrivileges() + "),\n" +
			"TLS required, and stores its credentials as the secret plinth/<stack>/db-backup-user, which `plinth backup\n" +
			"run|verify|list --stack S` then read. It also creates the application user " + userdata.AppDBUser + " (DML on the\n" +
			userdata.AppSchema + " schema only, TLS required), whose credentials, the secret plinth/<stack>/db-app-user, the app\n" +
			"tier's unit resolves at start (the live local cloud's data tier has made it already: the grant re-applies it).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			if err := backupflags.Validate(target.Flags{Stack: opts.Stack, Cloud: opts.Cloud}); err != nil {
				return err
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return grantRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack whose database gets the backup user")
	cmd.Flags().StringVar(&opts.Cloud, "cloud", "", "the stack's cloud: aws or local (default: the cloud the stack was provisioned into)")
	return cmd
}

func grantRun(opts *GrantOptions) error {
	ctx, fl := backupflags.Context(opts.Ctx), target.Flags{Stack: opts.Stack, Cloud: opts.Cloud}
	for _, g := range []struct {
		what  string
		grant func(context.Context, target.Flags) (string, string, error)
	}{{"Backup", opts.Factory.BackupTargets().Grant}, {"Application", opts.Factory.BackupTargets().GrantApp}} {
		user, secret, err := g.grant(ctx, fl)
		if err != nil {
			return cmdutil.Coded(err)
		}
		if _, err := fmt.Fprintf(opts.IO.Out, "%s user %s of stack %s ready; its credentials are the secret %s.\n", g.what, user, opts.Stack, secret); err != nil {
			return err
		}
	}
	return nil
}
