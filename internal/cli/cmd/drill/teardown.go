package drill

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/backupflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/views"
)

// TeardownOptions are the inputs of `plinth drill teardown`.
type TeardownOptions struct {
	IO     *iostreams.IOStreams
	Ctx    context.Context
	ID     string
	DRDSN  string
	Output string
}

// NewCmdTeardown builds `plinth drill teardown ID`.
func NewCmdTeardown(f *cmdutil.Factory, runF func(*TeardownOptions) error) *cobra.Command {
	opts := &TeardownOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "teardown ID --dr-dsn DSN",
		Short: "Tear down what a drill left (after --keep, a failure or an interrupted drill); idempotent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(opts.Output); err != nil {
				return err
			}
			if opts.ID = args[0]; !drill.ValidID(opts.ID) {
				return cmdutil.FlagErrorf("%q is not a drill id (drill-YYYYMMDDTHHMMSSZ)", opts.ID)
			}
			opts.DRDSN = firstSet(opts.DRDSN, f.Getenv(EnvDRDSN))
			if opts.DRDSN == "" {
				return cmdutil.FlagErrorf("--dr-dsn (or %s): the DR server holding the drill's database is required", EnvDRDSN)
			}
			opts.Ctx = backupflags.Context(cmd.Context())
			if runF != nil {
				return runF(opts)
			}
			return teardownRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.DRDSN, "dr-dsn", "", "the DR region's database server holding the drill database (env "+EnvDRDSN+")")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func teardownRun(opts *TeardownOptions) error {
	res, err := drill.TeardownDatabases(opts.Ctx, opts.ID, opts.DRDSN)
	if rerr := views.DrillTeardown(opts.IO.Out, opts.Output, res); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	if len(res.Left) > 0 {
		return fmt.Errorf("drill %s: %d resources remain", opts.ID, len(res.Left))
	}
	return nil
}
