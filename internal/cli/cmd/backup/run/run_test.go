package run

import (
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestNewCmdRunFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *RunOptions
	cmd := NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--stack", "production", "-r", "age1a", "-r", "age1b", "-d", "app", "-j", "8", "--compression", "fastest", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target.Stack != "production" || len(got.Recipients) != 2 || got.Databases[0] != "app" || got.Workers != 8 || got.Compression != "fastest" || got.Output != "json" || got.PartSizeMiB != 64 {
		t.Fatalf("options %+v", got)
	}
	// The default is s2; the zstd level names from before s2 still work.
	for want, args := range map[string][]string{"s2": {"-r", "x"}, "fastest": {"-r", "x", "--compression", "fastest"}, "better": {"-r", "x", "--compression", "better"}} {
		cmd := NewCmdRun(f, func(o *RunOptions) error { got = o; return nil })
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil || got.Compression != want {
			t.Errorf("%v: compression %q, %v; want %q", args, got.Compression, err, want)
		}
	}
	complete, ok := NewCmdRun(f, nil).GetFlagCompletionFunc("compression")
	if !ok {
		t.Fatal("--compression has no completion")
	}
	if names, _ := complete(nil, nil, ""); strings.Join(names, " ") != "s2 fastest default better" {
		t.Errorf("--compression completes %v", names)
	}
	for _, bad := range [][]string{{}, {"-r", "x", "-j", "0"}, {"-r", "x", "--compression", "max"}, {"-r", "x", "--compression", "lz4"}, {"-r", "x", "-o", "yaml"}} {
		cmd := NewCmdRun(f, func(*RunOptions) error { return nil })
		cmd.SetArgs(bad)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
