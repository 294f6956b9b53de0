// Package keygen implements `plinth backup keygen`.
package keygen

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/views"
)

// KeygenOptions are the inputs of `plinth backup keygen`.
type KeygenOptions struct {
	IO  *iostreams.IOStreams
	Now func() time.Time

	Out    string
	Output string
}

// NewCmdKeygen builds `plinth backup keygen`.
func NewCmdKeygen(f *cmdutil.Factory, runF func(*KeygenOptions) error) *cobra.Command {
	opts := &KeygenOptions{IO: f.IOStreams, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create the age identity backups are encrypted to; print its public key",
		Long: `Writes a new age X25519 identity to FILE (mode 0600; never replaces an existing file) and prints
its public key, the --recipient of plinth backup run. Keep the identity offline or in a secret store:
whoever holds it can decrypt every backup encrypted to its public key, and without it they cannot be
restored. The private key is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return cmdutil.FlagErrorf("--out FILE is required (the identity is never printed)")
			}
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return keygenRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write the new identity to (must not exist)")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func keygenRun(opts *KeygenOptions) error {
	kp, err := backup.WriteNewIdentity(opts.Out, opts.Now())
	if err != nil {
		return err
	}
	return views.BackupKeygen(opts.IO.Out, opts.Output, kp)
}
