package destroy

import (
	"context"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestDestroyNeedsYes(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdDestroy(&cmdutil.Factory{IOStreams: ios}, func(context.Context, *DestroyOptions) error {
		t.Fatal("ran without --yes")
		return nil
	})
	cmd.SetArgs([]string{"--stack", "staging"})
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("got %v", err)
	}
}

func TestDestroyRun(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	fake := &engineflagstest.Engine{Result: provision.Result{Stack: "staging", Operation: "destroy", Changes: map[string]int{"delete": 9}}}
	ios, _, out, _ := iostreams.Test()
	if err := destroyRun(context.Background(), &DestroyOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", "human"), Yes: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "destroy staging: 9 delete") {
		t.Errorf("output %s", out)
	}
}
