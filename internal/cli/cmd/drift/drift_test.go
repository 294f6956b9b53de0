package drift

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestDriftExitCodeAndReport(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	rep := provision.DriftReport{Stack: "staging", Checked: 9, HasDrift: true, Drifted: []provision.DriftedResource{
		{URN: "urn:x::main", Type: "aws:ec2/vpc:Vpc", Name: "main", Op: "update", Diffs: []string{"tags"}},
		{URN: "urn:x::writer", Type: "gcp:serviceaccount/account:Account", Name: "writer", Op: "delete"},
	}}
	for _, output := range []string{"human", "json"} {
		fake := &engineflagstest.Engine{Drift: rep, Events: []provision.Event{
			{Kind: provision.EventStart, Op: "refresh", Name: "noise"},
			{Kind: provision.EventDiag, Severity: "warning", Message: "slow api"},
		}}
		ios, _, out, _ := iostreams.Test()
		err := driftRun(context.Background(), &DriftOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", output)})
		var ee *cmdutil.ExitError
		if !errors.As(err, &ee) || ee.Code != cmdutil.ExitDrift || !errors.Is(err, cmdutil.ErrSilent) {
			t.Fatalf("%s: got %v, want silent exit %d", output, err, cmdutil.ExitDrift)
		}
		got := out.String()
		if output == "human" {
			for _, want := range []string{"2 of 9 resources", "main  aws:ec2/vpc:Vpc  changed: tags", "writer", "deleted outside Pulumi", "warning: slow api"} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "noise") {
				t.Errorf("progress shown in drift output:\n%s", got)
			}
			continue
		}
		// JSON: the warning event line, then the report.
		idx := strings.Index(got, "{\n")
		var back provision.DriftReport
		if err := json.Unmarshal([]byte(got[idx:]), &back); err != nil || len(back.Drifted) != 2 || back.Drifted[0].Name != "main" {
			t.Fatalf("json report %v: %s", err, got)
		}
	}
	fake := &engineflagstest.Engine{Drift: provision.DriftReport{Stack: "staging", Checked: 9}}
	ios, _, out, _ := iostreams.Test()
	if err := driftRun(context.Background(), &DriftOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", "human")}); err != nil {
		t.Fatalf("no drift: %v", err)
	}
	if !strings.Contains(out.String(), "no drift") {
		t.Errorf("output %s", out)
	}
}
