package engineflags_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/plinth-dev/plinth/policy/rules"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/stacks"
)

// project makes a project dir holding the shipped production config and, when withPack, a policy pack.
func project(t *testing.T, withPack bool) string {
	t.Helper()
	dir := t.TempDir()
	data, _ := environments.EmbeddedStackFile("production")
	must(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"), data, 0o644))
	if withPack {
		must(t, os.MkdirAll(filepath.Join(dir, "policy"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "policy", "PulumiPolicy.yaml"), []byte("runtime: go\n"), 0o644))
	}
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func gate(t *testing.T, dir string, program pulumi.RunFunc, fl engineflags.Flags) (error, string) {
	t.Helper()
	io, _, _, errOut := iostreams.Test()
	env := engineflags.Env{IO: io, ProjectDir: func() (string, error) { return dir, nil }, Program: program,
		Getenv: func(k string) string {
			if k == "PATH" {
				return ""
			}
			return os.Getenv(k)
		}}
	return engineflags.Gate(context.Background(), env, "production", fl), errOut.String()
}

func failing(*pulumi.Context) error { return errors.New("the program must not run") }

func TestGatePassesTheShippedProgram(t *testing.T) {
	err, stderr := gate(t, project(t, true), stacks.Program, engineflags.Flags{})
	want := fmt.Sprintf("%d rules checked offline over %d resources of production", len(rules.All()), productionResources(t))
	if err != nil || !strings.Contains(stderr, want) {
		t.Errorf("err %v, stderr %q", err, stderr)
	}
}

func TestGateRefusesMandatoryViolations(t *testing.T) {
	data, _ := environments.EmbeddedStackFile("production")
	cfg, _ := environments.ParseStackFile(data)
	spec, _ := environments.Load("production", cfg.Values)
	spec.Database.MultiAZ = false // what validation would refuse, as if the spec check were bypassed
	insecure := func(ctx *pulumi.Context) error { _, err := stacks.RunSpec(ctx, spec); return err }
	err, stderr := gate(t, project(t, true), insecure, engineflags.Flags{})
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitPolicyViolation {
		t.Fatalf("err = %v, want exit %d", err, cmdutil.ExitPolicyViolation)
	}
	if !strings.Contains(stderr, "db-multi-az") || !strings.Contains(stderr, "production-db-primary") {
		t.Errorf("stderr does not name the rule and resource: %s", stderr)
	}
}

func TestGateStandsAside(t *testing.T) {
	if err, _ := gate(t, project(t, false), failing, engineflags.Flags{}); err != nil {
		t.Errorf("no pack in the project: %v", err)
	}
	if err, _ := gate(t, project(t, true), failing, engineflags.Flags{PolicyPacks: []string{"/some/pack"}}); err != nil {
		t.Errorf("explicit packs go to the engine: %v", err)
	}
}

func TestGateReportsInvalidConfig(t *testing.T) {
	dir := project(t, true)
	must(t, os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"),
		[]byte("config:\n  plinth:spec:\n    environment: production\n    azCount: 1\n"), 0o644))
	err, _ := gate(t, dir, stacks.Program, engineflags.Flags{})
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitConfigInvalid || !strings.Contains(err.Error(), "plinth:spec.azCount") {
		t.Errorf("err = %v", err)
	}
}

// productionResources is production's resource count, from its golden counts file.
func productionResources(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("../../../../stacks/testdata/production.counts.json")
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]int
	if err := json.Unmarshal(data, &counts); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
