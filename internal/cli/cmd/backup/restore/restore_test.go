package restore

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestNewCmdRestoreFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	var parsed *RestoreOptions
	cmd := NewCmdRestore(f, func(o *RestoreOptions) error { parsed = o; return nil })
	cmd.SetArgs([]string{"20261123T004512Z", "-s", "staging", "-i", "k.txt", "--force", "-j", "6", "--skip-binlog"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if parsed.ID != "20261123T004512Z" || parsed.Target.Stack != "staging" || parsed.Identity != "k.txt" || !parsed.Force || parsed.Workers != 6 || !parsed.SkipBinlog {
		t.Fatalf("options %+v", parsed)
	}
	for _, bad := range [][]string{{"x"}, {"x", "-i", "k", "--rename", "bad"}, {"x", "-i", "k", "-j", "0"}} {
		cmd := NewCmdRestore(f, func(*RestoreOptions) error { return nil })
		cmd.SetArgs(bad)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
