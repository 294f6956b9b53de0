package preview

import (
	"context"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestEngineFlagsParse(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *PreviewOptions
	cmd := NewCmdPreview(&cmdutil.Factory{IOStreams: ios}, func(_ context.Context, o *PreviewOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--stack", "production", "--save-plan", "prod.plan.json", "--cloud", "local", "--backend", "gs://b/state"})
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Engine.SavePlan != "prod.plan.json" || got.Engine.Cloud != "local" || got.Engine.Backend != "gs://b/state" {
		t.Fatalf("engine options %+v", got.Engine)
	}
}

func TestEngineRunSavesPlan(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	fake := &engineflagstest.Engine{Result: provision.Result{Stack: "production", Operation: "preview",
		Changes: map[string]int{"create": 120}, PlanFile: "/abs/prod.plan.json", PlanSHA256: "beef"}}
	ios, _, out, _ := iostreams.Test()
	opts := &PreviewOptions{IO: ios, ProjectDir: func() (string, error) { return dir, nil }, Stack: "production", Output: "human",
		Engine: EngineOptions{SavePlan: "prod.plan.json", Getenv: getenv, Open: fake.Open, Program: engineflagstest.Program}}
	if err := engineRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if fake.Preview.SavePlan != "prod.plan.json" {
		t.Errorf("preview options %+v", fake.Preview)
	}
	if s := out.String(); !strings.Contains(s, "preview production: 120 create") || !strings.Contains(s, "plan saved to /abs/prod.plan.json (sha256 beef)") {
		t.Errorf("output:\n%s", s)
	}
}
