package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/plinth-dev/plinth/policy/rules"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/stacks"
)

func repoRoot() (string, error) { return "../../../../..", nil }

func TestShippedStacksPass(t *testing.T) {
	for _, stack := range environments.Stacks() {
		io, _, out, _ := iostreams.Test()
		err := checkRun(&CheckOptions{IO: io, ProjectDir: repoRoot, Stack: stack, Output: cmdutil.OutputHuman, Evaluate: stackconfig.EvaluateStack})
		if err != nil {
			t.Errorf("%s: %v\n%s", stack, err, out)
		}
		if !strings.Contains(out.String(), "Policy: no violations.") || !strings.Contains(out.String(), fmt.Sprintf("%d rules", len(rules.All()))) {
			t.Errorf("%s output:\n%s", stack, out)
		}
	}
}

// singleNATProduction evaluates production with one NAT gateway: validation would refuse it, so it is built
// from the spec directly — what a reviewer's change that slipped past validation would look like.
func singleNATProduction(func() (string, error), string) (*offline.Result, string, error) {
	data, _ := environments.EmbeddedStackFile("production")
	cfg, _ := environments.ParseStackFile(data)
	spec, _ := environments.Load("production", cfg.Values)
	spec.NATStrategy = environments.NATSingle
	res, err := offline.Evaluate(environments.Project, "production", nil, nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return stacks.RunSpec(ctx, spec)
	})
	return res, "test", err
}

func TestMandatoryViolationExitCode(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	err := checkRun(&CheckOptions{IO: io, Stack: "production", Output: cmdutil.OutputJSON, Evaluate: singleNATProduction})
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitPolicyViolation {
		t.Fatalf("err = %v, want exit %d", err, cmdutil.ExitPolicyViolation)
	}
	var report struct {
		Mandatory  int `json:"mandatory"`
		Violations []struct {
			Rule, Level, URN, Resource, Message, Fix string
		} `json:"violations"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if report.Mandatory != 1 || len(report.Violations) != 1 {
		t.Fatalf("report = %+v", report)
	}
	v := report.Violations[0]
	if v.Rule != "nat-per-az" || v.Level != "mandatory" || v.Resource != "production-network-vpc" || v.Fix == "" || !strings.HasPrefix(v.URN, "urn:pulumi:") {
		t.Errorf("violation = %+v", v)
	}
}

func TestFlags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io}
	for _, args := range [][]string{{}, {"--stack", "production", "-o", "yaml"}} {
		cmd := NewCmdCheck(f, func(context.Context, *CheckOptions) error { return nil })
		cmd.SetArgs(args)
		cmd.SetOut(io.Out)
		cmd.SetErr(io.ErrOut)
		var flagErr *cmdutil.FlagError
		if err := cmd.Execute(); !errors.As(err, &flagErr) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	var got *CheckOptions
	cmd := NewCmdCheck(f, func(_ context.Context, o *CheckOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-s", "staging", "-o", "json"})
	if err := cmd.Execute(); err != nil || got.Stack != "staging" || got.Output != "json" {
		t.Errorf("parsed %+v, %v", got, err)
	}
}
