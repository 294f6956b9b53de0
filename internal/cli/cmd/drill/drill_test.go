package drill

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/drill"
)

var update = flag.Bool("update", false, "rewrite golden files")

func factory(t *testing.T) (*cmdutil.Factory, *iostreams.IOStreams) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	return &cmdutil.Factory{IOStreams: io, ProjectDir: func() (string, error) { return "../../../..", nil },
		Now:    func() time.Time { return time.Date(2026, 12, 2, 17, 45, 0, 0, time.UTC) },
		Getenv: func(string) string { return "" }}, io
}

func run(t *testing.T, f *cmdutil.Factory, args ...string) (string, error) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	f.IOStreams = io
	cmd := NewCmdDrill(f, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.Execute()
	return out.String(), err
}

func TestDryRunGolden(t *testing.T) {
	f, _ := factory(t)
	out, err := run(t, f, "--stack", "production", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	const path = "testdata/dry-run-production.txt"
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(out), 0o644)
	}
	want, _ := os.ReadFile(path)
	if out != string(want) {
		t.Errorf("%s differs (-update rewrites it):\n%s", path, out)
	}
	js, err := run(t, f, "--stack", "production", "--dry-run", "--source", "backup", "--backup", "20261201T020000Z", "--keep", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p drill.Plan
	if err := json.Unmarshal([]byte(js), &p); err != nil || p.Source != "backup" || len(p.Steps) != 8 || p.Steps[7].Skip == "" || p.ID != "drill-20261202T174500Z" {
		t.Errorf("json plan %+v %v\n%s", p, err, js)
	}
}

func TestFlagErrors(t *testing.T) {
	f, _ := factory(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dry-run"}, "--stack is required"},
		{[]string{"--stack", "production", "--backup", "20261201T020000Z", "--dry-run"}, "--backup: only with --source backup"},
		{[]string{"--stack", "production", "--source", "tape", "--dry-run"}, "--source: want replica or backup"},
		{[]string{"--stack", "staging", "--dry-run"}, "no DR region"},
		{[]string{"--stack", "production", "--dry-run", "-o", "yaml"}, "--output"},
	} {
		_, err := run(t, f, c.args...)
		var fe *cmdutil.FlagError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &fe) {
			t.Errorf("%v: err = %v, want a flag error with %q", c.args, err, c.want)
		}
	}
}

func TestOutcomeExitCodes(t *testing.T) {
	missed := &drill.Report{ID: "drill-20261202T174500Z", Verdict: drill.VerdictMissed, Missed: []string{"rto"}}
	var ee *cmdutil.ExitError
	if err := outcome(missed, nil); !errors.As(err, &ee) || ee.Code != 9 || !strings.Contains(err.Error(), "RTO") {
		t.Errorf("missed: %v", err)
	}
	if err := outcome(&drill.Report{Verdict: drill.VerdictMet}, nil); err != nil {
		t.Errorf("met: %v", err)
	}
	boom := errors.New("step platform: boom")
	if err := outcome(&drill.Report{Verdict: drill.VerdictIncomplete}, boom); err != boom {
		t.Errorf("failed: %v", err)
	}
}

func TestHistoryFromTheVault(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := blobstore.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	rto, rpo := 1234.5, 0.8
	for _, id := range []string{"drill-20261101T100000Z", "drill-20261202T100000Z"} {
		r := drill.Report{ID: id, Stack: "production", Source: "replica", RTOSeconds: &rto, RPOSeconds: &rpo, Verdict: drill.VerdictMet,
			Steps: []drill.StepResult{{Name: "teardown", Status: "ok"}}}
		if err := (drill.History{Store: st}).Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	f, _ := factory(t)
	io, _, out, _ := iostreams.Test()
	f.IOStreams = io
	cmd := NewCmdHistory(f, nil)
	cmd.SetArgs([]string{"--store", "file://" + dir})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "drill-20261202T100000Z") || !strings.Contains(lines[1], "20m34.5s") || !strings.Contains(lines[2], "met") {
		t.Errorf("history:\n%s", out)
	}
}

// TestCommandTreeBuilds: the drill command and its subcommands register their flags once (a flag defined
// twice panics when the root is built, before any command runs), and teardown takes --stack/-s.
func TestCommandTreeBuilds(t *testing.T) {
	f, _ := factory(t)
	cmd := NewCmdDrill(f, nil)
	td, _, err := cmd.Find([]string{"teardown"})
	if err != nil || td.Name() != "teardown" {
		t.Fatalf("drill teardown: %v", err)
	}
	if fl := td.Flags().Lookup("stack"); fl == nil || fl.Shorthand != "s" {
		t.Errorf("drill teardown --stack: %+v", fl)
	}
}
