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
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Ctx     context.Context
	ID      string
	DRDSN   string
	// Stack is the stack the drill ran on: its drill stack and its cloud's drill database go too.
	Stack  string
	Output string
}

// NewCmdTeardown builds `plinth drill teardown ID`.
func NewCmdTeardown(f *cmdutil.Factory, runF func(*TeardownOptions) error) *cobra.Command {
	opts := &TeardownOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "teardown ID [--stack S] [--dr-dsn DSN]",
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
			if opts.DRDSN == "" && opts.Stack == "" {
				return cmdutil.FlagErrorf("--stack (the drill's stack) or --dr-dsn (or %s: the DR server holding the drill's database) is required", EnvDRDSN)
			}
			opts.Ctx = backupflags.Context(cmd.Context())
			if runF != nil {
				return runF(opts)
			}
			return teardownRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "the stack drilled: its drill stack, its cloud's drill database and what is tagged with the drill id are torn down")
	cmd.Flags().StringVar(&opts.DRDSN, "dr-dsn", "", "the DR region's database server holding the drill database (env "+EnvDRDSN+")")
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func teardownRun(opts *TeardownOptions) error {
	var res drill.TeardownResult
	var err error
	if opts.Stack != "" {
		res, err = teardownOnCloud(opts)
	} else {
		res, err = drill.TeardownDatabases(opts.Ctx, opts.ID, opts.DRDSN)
	}
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

// teardownOnCloud resolves the stack's drill parts through the Factory and tears down on them. A cloud that
// cannot be reached is an error: nothing could be proven gone.
func teardownOnCloud(opts *TeardownOptions) (drill.TeardownResult, error) {
	f := opts.Factory
	var parts drill.CloudParts
	if f.DrillCloud != nil {
		p, err := f.DrillCloud(opts.Ctx, opts.Stack, opts.ID, nil)
		if err != nil && p.Leftovers == nil && p.Database == nil {
			return drill.TeardownResult{ID: opts.ID, Left: []string{}}, fmt.Errorf("drill %s: %w", opts.ID, err)
		}
		parts = p
	}
	if parts.Database == nil && f.DrillAccess != nil {
		// The live local cloud: the drill database the server made in production's DR network.
		acc, err := f.DrillAccess(opts.Ctx, drill.Plan{ID: opts.ID, Stack: opts.Stack, Source: drill.SourceReplica})
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "drill %s: %s's cloud: %v\n", opts.ID, opts.Stack, err)
		}
		if acc.Close != nil {
			defer acc.Close()
		}
		parts.Database = acc.Database
	}
	var platform *drill.StackPlatform
	if f.DrillPlatform != nil {
		sp, err := f.DrillPlatform(opts.Ctx, opts.Stack)
		if err != nil {
			return drill.TeardownResult{ID: opts.ID, Left: []string{}}, fmt.Errorf("drill %s: the drill stack: %w", opts.ID, err)
		}
		platform = sp
	}
	return drill.TeardownOnCloud(opts.Ctx, opts.ID, parts, platform, opts.DRDSN)
}
