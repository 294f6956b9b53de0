package prune

import (
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestNewCmdPruneFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *PruneOptions
	cmd := NewCmdPrune(f, func(o *PruneOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--store", "mem://", "--keep-last", "3", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12", "--incomplete-grace", "1h", "-n"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	p := got.Policy
	if p.KeepLast != 3 || p.KeepDaily != 7 || p.KeepWeekly != 4 || p.KeepMonthly != 12 || p.IncompleteGrace != time.Hour || !got.DryRun {
		t.Fatalf("options %+v", got)
	}
	cmd = NewCmdPrune(f, func(*PruneOptions) error { return nil })
	cmd.SetArgs([]string{"--store", "mem://"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Fatal("a policy keeping nothing was accepted")
	}
}
