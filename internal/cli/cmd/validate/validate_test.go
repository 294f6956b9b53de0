package validate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/stackconfig"
)

func TestShippedStacksValid(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	err := validateRun(&ValidateOptions{IO: io, ProjectDir: func() (string, error) { return "../../../..", nil },
		Stacks: []string{"staging", "preproduction", "production"}, Output: cmdutil.OutputHuman})
	if err != nil || strings.Count(out.String(), "✓") != 3 {
		t.Errorf("err %v\n%s", err, out)
	}
}

func TestBrokenStackReportsEverything(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "environments"), 0o755)
	src, _ := os.ReadFile("../../../../testdata/environments/broken/production-not-redundant.yaml")
	os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "environments", "Pulumi.garbled.yaml"), []byte("config: [unclosed"), 0o644)
	io, _, out, _ := iostreams.Test()
	opts := &ValidateOptions{IO: io, ProjectDir: func() (string, error) { return dir, nil }, Output: cmdutil.OutputJSON}
	opts.Stacks = stackconfig.Names(opts.ProjectDir)
	err := validateRun(opts)
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitConfigInvalid {
		t.Fatalf("err = %v", err)
	}
	var reports []StackReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[0].Stack != "garbled" || reports[1].Stack != "production" {
		t.Fatalf("reports = %+v", reports)
	}
	if reports[0].Valid || len(reports[0].Problems) != 1 {
		t.Errorf("garbled: %+v", reports[0])
	}
	if n := len(reports[1].Problems); n != 7 {
		t.Errorf("production: %d problems, want 7: %+v", n, reports[1].Problems)
	}
}
