// Package grant implements `plinth backup grant`.
package grant

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/target"
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
}

// NewCmdGrant builds `plinth backup grant`. It is a verb of its own, not a step of `up`: it needs the
// database's master secret and a connection through the bastion, which an engine run neither holds nor
// should (the program never sees the master password: RDS manages it), and an operator runs it once per
// stack (again to re-apply the privileges; the password is kept).
func NewCmdGrant(f *cmdutil.Factory, runF func(*GrantOptions) error) *cobra.Command {
	opts := &GrantOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "grant --stack S",
		Short: "Create the stack's least-privilege backup user from the master secret; its password becomes a secret",
		Long: "Connects to the stack's primary through the bastion as the master user (the managed secret the program\n" +
			"asked for), creates " + cloud.BackupUser + " with only what a backup needs (" + cloud.BackupPrivileges() + "),\n" +
			"TLS required, and stores its credentials as the secret plinth/<stack>/db-backup-user, which `plinth backup\n" +
			"run|verify|list --stack S` then read.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack is required")
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return grantRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack whose database gets the backup user")
	return cmd
}

func grantRun(opts *GrantOptions) error {
	ctx := target.Context(opts.Ctx)
	f := opts.Factory
	if f.StackOutputs == nil {
		return cmdutil.ErrNoStackOutputs
	}
	outs, err := f.StackOutputs(ctx, opts.Stack)
	if err != nil {
		return fmt.Errorf("stack %s: %w", opts.Stack, err)
	}
	inv, err := target.ParseInventory(outs)
	if err != nil {
		return fmt.Errorf("stack %s: %w", opts.Stack, err)
	}
	c, err := cloud.For(ctx, f.StackCloud, opts.Stack)
	if err != nil {
		return err
	}
	a, ok := c.(cloud.BackupAccess)
	if !ok {
		return errors.New("stack " + opts.Stack + ": its cloud cannot reach the database's secrets")
	}
	if err := cloud.GrantBackupUser(ctx, a, opts.Stack, inv); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "Backup user %s of stack %s ready; its credentials are the secret %s.\n",
		cloud.BackupUser, opts.Stack, cloud.BackupUserSecretID(opts.Stack))
	return err
}
