package refresh

import (
	"context"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestRefreshRun(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	fake := &engineflagstest.Engine{Result: provision.Result{Stack: "staging", Operation: "refresh", Changes: map[string]int{"update": 1, "same": 8}}}
	ios, _, out, _ := iostreams.Test()
	if err := refreshRun(context.Background(), &RefreshOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", "human")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "refresh staging: 1 update, 8 unchanged") || fake.Calls[0] != "refresh" {
		t.Errorf("output %s calls %v", out, fake.Calls)
	}
}
