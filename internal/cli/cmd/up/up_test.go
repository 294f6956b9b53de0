package up

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestNewCmdUpFlags(t *testing.T) {
	cases := []struct {
		args    string
		wantErr string
		check   func(*UpOptions) bool
	}{
		{"--stack staging --cloud local", "", func(o *UpOptions) bool { return o.Stack == "staging" && o.Engine.Cloud == "local" }},
		{"-s production --plan p.json --override-promotion hotfix", "", func(o *UpOptions) bool {
			return o.Plan == "p.json" && o.OverridePromotion == "hotfix"
		}},
		{"--stack staging --backend s3://b --secrets-provider awskms://alias/x --policy-pack a --policy-pack b", "", func(o *UpOptions) bool {
			return o.Engine.Backend == "s3://b" && o.Engine.SecretsProvider == "awskms://alias/x" && len(o.Engine.PolicyPacks) == 2
		}},
		{"", "--stack is required", nil},
		{"--stack staging --cloud azure", "--cloud", nil},
		{"--stack staging -o yaml", "--output", nil},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *UpOptions
			cmd := NewCmdUp(f, func(_ context.Context, o *UpOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(c.args))
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !c.check(got) {
				t.Fatalf("err %v opts %+v", err, got)
			}
		})
	}
}

func TestUpRunRendersProgressAndResult(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	fake := &engineflagstest.Engine{
		Result: provision.Result{Stack: "staging", Operation: "up", Changes: map[string]int{"create": 3, "same": 1}, Seconds: 1.5,
			PlanFile: "/tmp/p.json", PlanSHA256: "abc"},
		Events: []provision.Event{
			{Kind: provision.EventStart, Op: "create", Name: "main", Type: "aws:ec2/vpc:Vpc"},
			{Kind: provision.EventStart, Op: "same", Name: "old", Type: "aws:ec2/vpc:Vpc"},
			{Kind: provision.EventDiag, Severity: "warning", Message: "be careful"},
		},
	}
	ios, _, out, _ := iostreams.Test()
	opts := &UpOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", "human"),
		Plan: "/tmp/p.json", OverridePromotion: "INC-1"}
	opts.Engine.Cloud = "local"
	if err := upRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if fake.Up.Plan != "/tmp/p.json" || fake.Up.OverridePromotion != "INC-1" || fake.Up.Operator != "tester" {
		t.Errorf("up options %+v", fake.Up)
	}
	if fake.Opened.Cloud != "local" || fake.Opened.Stack != "staging" || !strings.Contains(string(fake.Opened.StackConfig), "plinth:spec") {
		t.Errorf("opened with %+v", fake.Opened)
	}
	if fake.Calls[len(fake.Calls)-1] != "close" {
		t.Errorf("engine not closed: %v", fake.Calls)
	}
	got := out.String()
	for _, want := range []string{"+  create   main  aws:ec2/vpc:Vpc", "warning: be careful", "up staging: 3 create, 1 unchanged", "applied plan /tmp/p.json (sha256 abc)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old") {
		t.Errorf("unchanged resource shown:\n%s", got)
	}
}

func TestUpRunJSONAndExitCodes(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	cases := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", provision.ErrPromotionRefused), cmdutil.ExitPromotionRefused},
		{fmt.Errorf("x: %w", provision.ErrPlanRefused), cmdutil.ExitPlanRefused},
		{fmt.Errorf("x: %w", provision.ErrLocked), cmdutil.ExitLocked},
	}
	for _, c := range cases {
		fake := &engineflagstest.Engine{Err: c.err}
		ios, _, _, _ := iostreams.Test()
		err := upRun(context.Background(), &UpOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "production", "json")})
		var ee *cmdutil.ExitError
		if !errors.As(err, &ee) || ee.Code != c.code {
			t.Errorf("%v: got %v, want exit %d", c.err, err, c.code)
		}
	}
	fake := &engineflagstest.Engine{Result: provision.Result{Stack: "staging", Operation: "up"},
		Events: []provision.Event{{Kind: provision.EventStart, Op: "create", Name: "main"}}}
	ios, _, out, _ := iostreams.Test()
	if err := upRun(context.Background(), &UpOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "staging", "json")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want an event line and a result line, got:\n%s", out)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
	}
	if !strings.Contains(lines[1], `"kind":"result"`) {
		t.Errorf("last line %s", lines[1])
	}
}

func TestUpRunUnknownStack(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	fake := &engineflagstest.Engine{}
	ios, _, _, _ := iostreams.Test()
	err := upRun(context.Background(), &UpOptions{Common: engineflagstest.Common(ios, dir, getenv, fake.Open, "qa", "human")})
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "preproduction, production, staging") {
		t.Fatalf("got %v", err)
	}
	if len(fake.Calls) != 0 {
		t.Errorf("engine opened for an unknown stack")
	}
}
