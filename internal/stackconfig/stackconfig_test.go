package stackconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/stacks"
)

func TestAllFallsBackToTheShippedOnes(t *testing.T) {
	got, err := All(Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"staging", "preproduction", "production"} {
		if !strings.Contains(string(got[s]), "plinth:spec") {
			t.Errorf("%s: shipped config missing: %q", s, got[s])
		}
	}
}

// TestFileFallsBackPerStack: a project that overrides one stack still reads the shipped config of another
// (every command the same way), and names only the stacks it has.
func TestFileFallsBackPerStack(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "environments", "Pulumi.staging.yaml")
	if err := os.WriteFile(own, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, source, err := File(Dir(dir), "staging"); err != nil || source != own {
		t.Fatalf("staging: %s %v", source, err)
	}
	if _, source, err := File(Dir(dir), "production"); err != nil || !strings.HasPrefix(source, "built-in") {
		t.Fatalf("production: %s %v", source, err)
	}
	if names := Names(Dir(dir)); len(names) != 1 || names[0] != "staging" {
		t.Fatalf("names %v", names)
	}
	_, _, err := File(Dir(dir), "../x")
	if !errors.Is(err, ErrBadStackName) || err.Error() != `--stack "../x": want a stack name such as production` {
		t.Fatalf("bad name: %v", err)
	}
}

// TestEvaluateRefusesAnInvalidSpecBeforeRunning: validation comes first (every problem, ErrInvalid), and the
// program never runs on an invalid config.
func TestEvaluateRefusesAnInvalidSpecBeforeRunning(t *testing.T) {
	dir := brokenProduction(t)
	_, _, err := Evaluate(Dir(dir), "production", nil)
	if !errors.Is(err, ErrInvalid) || len(environments.Problems(err)) == 0 {
		t.Fatalf("want ErrInvalid with problems, got %v", err)
	}
	res, source, err := EvaluateStack(Dir(t.TempDir()), "staging")
	if err != nil || len(res.Resources) == 0 || res.Outputs[stacks.InventoryOutput] == nil || !strings.HasPrefix(source, "built-in") {
		t.Fatalf("staging: %d resources, outputs %v, %s, %v", len(res.Resources), res.Outputs != nil, source, err)
	}
}

// TestLoadSpec: the spec of a valid stack, and an invalid one refused with every problem (ErrInvalid).
func TestLoadSpec(t *testing.T) {
	spec, source, err := LoadSpec(Dir(t.TempDir()), "production")
	if err != nil || spec.Stack != "production" || spec.Region == "" || spec.DRRegion == "" || !strings.HasPrefix(source, "built-in") {
		t.Fatalf("production: %+v %s %v", spec, source, err)
	}
	dir := brokenProduction(t)
	if _, _, err := LoadSpec(Dir(dir), "production"); !errors.Is(err, ErrInvalid) || len(environments.Problems(err)) == 0 {
		t.Fatalf("want ErrInvalid with problems, got %v", err)
	}
}

// brokenProduction is a project whose production config fails validation (testdata's small-cidr).
func brokenProduction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "environments", "broken", "small-cidr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
