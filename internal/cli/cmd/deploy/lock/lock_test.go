package lock

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared/sharedtest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
)

func TestLockStatusAndRelease(t *testing.T) {
	env := sharedtest.New(t, 1)
	ctx := context.Background()
	run := func(verb string, args ...string) (string, error) {
		io, _, out, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: io, Now: time.Now, Getenv: func(string) string { return "" }}
		cmd := NewCmdLock(f, func(ctx context.Context, o *LockOptions) error {
			o.Connect = env.Connect()
			return lockRun(ctx, o)
		})
		cmd.SetArgs(append([]string{verb, "--stack", "staging"}, args...))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		return out.String(), err
	}
	if out, err := run("status"); err != nil || !strings.Contains(out, "not locked") {
		t.Fatalf("%q %v", out, err)
	}
	if err := env.State.Acquire(ctx, deploy.LockInfo{ID: "x", Holder: "alice@laptop", Stack: "staging", Action: "deploy", Tier: "app", Version: "v7", Message: "hotfix", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	out, err := run("status")
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitLocked || !strings.Contains(out, "locked by alice@laptop") || !strings.Contains(out, "hotfix") {
		t.Fatalf("%q %v", out, err)
	}
	if out, err := run("status", "-o", "json"); !strings.Contains(out, `"locked": true`) || err == nil {
		t.Fatalf("json: %q %v", out, err)
	}
	if out, err := run("release", "-m", "alice left"); err != nil || !strings.Contains(out, "not locked") {
		t.Fatalf("release: %q %v", out, err)
	}
	recs, _ := env.State.History(ctx, 5)
	if len(recs) != 1 || recs[0].Action != "lock-release" || !strings.Contains(recs[0].Message, "alice@laptop") {
		t.Fatalf("audit: %+v", recs)
	}
}
