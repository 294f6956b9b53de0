package binlog

import (
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestNewCmdBinlogFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *BinlogOptions
	cmd := NewCmdBinlog(f, func(o *BinlogOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--stack", "production", "-r", "age1a", "--cursor", "/srv/c", "--segment-age", "30s", "--lease", "2m"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target.Stack != "production" || got.Cursor != "/srv/c" || got.SegmentAge != 30*time.Second || got.Lease != 2*time.Minute || got.ServerID != 4242 {
		t.Fatalf("options %+v", got)
	}
	for _, bad := range [][]string{{"--stack", "p"}, {"--stack", "p", "-r", "x", "--server-id", "0"}, {"--stack", "p", "-r", "x", "--segment-age", "500ms"},
		{"--stack", "p", "-r", "x", "--lease", "90s"}, {"--stack", "p", "-r", "x", "--segment-age", "1m", "--lease", "-1s"}} {
		cmd := NewCmdBinlog(f, func(*BinlogOptions) error { return nil })
		cmd.SetArgs(bad)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
