package rollback

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared/sharedtest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
)

func TestFlags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, Getenv: func(string) string { return "" }}
	for args, wantErr := range map[string]string{
		"--stack s --tier app":            "",
		"--stack s --tier app --to v1":    "",
		"--stack s":                       "--tier is required",
		"--tier app":                      "--stack is required",
		"--stack s --tier app --to ../v1": "--to",
	} {
		cmd := NewCmdRollback(f, func(context.Context, *RollbackOptions) error { return nil })
		cmd.SetArgs(strings.Fields(args))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if (wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: got %v, want %q", args, err, wantErr)
		}
	}
}

func deployVersion(t *testing.T, env *sharedtest.Env, v string) {
	t.Helper()
	rel := deploytest.Release(t, deploytest.BuildApp(t, v, true, 0), v)
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: env.Inventory, Tier: "app", Release: rel, Config: env.Config.Tier("app")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&deploy.Executor{Runner: env.Runner}).Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestRollbackToPreviousCompleteRelease(t *testing.T) {
	env := sharedtest.New(t, 2)
	deployVersion(t, env, "v1")
	deployVersion(t, env, "v2")
	// An interrupted, newer deploy left an incomplete release: never a target.
	for _, r := range env.Roots {
		if err := os.MkdirAll(filepath.Join(r, "releases", "v3"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	io, _, out, _ := iostreams.Test()
	opts := &RollbackOptions{IO: io, Now: time.Now, Holder: "tester", Connect: env.Connect(), Tier: "app"}
	if err := rollbackRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	client := &http.Client{Timeout: time.Second}
	for _, p := range env.Ports {
		if v := deploytest.Health(client, p); v != "v1" {
			t.Fatalf("port %d serves %q", p, v)
		}
	}
	if !strings.Contains(out.String(), "rollback staging/app v1: succeeded") {
		t.Fatalf("output:\n%s", out)
	}
	opts.To = "v3"
	if err := rollbackRun(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("rollback to incomplete: %v", err)
	}
	recs, err := env.State.History(context.Background(), 10)
	if err != nil || len(recs) != 2 || recs[1].Action != "rollback" || recs[1].Result != "succeeded" {
		t.Fatalf("audit: %+v %v", recs, err)
	}
}
