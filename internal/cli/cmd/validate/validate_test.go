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

// An ACM certificate of another account than accountId cannot be used by the stack's ALB: validate says so,
// naming certificateArn, before anything reaches the engine (issue 17.6).
func TestForeignAccountCertificateRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../../../testdata/environments/broken/certificate-other-account.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, out, _ := iostreams.Test()
	err = validateRun(&ValidateOptions{IO: io, ProjectDir: func() (string, error) { return dir, nil },
		Stacks: []string{"production"}, Output: cmdutil.OutputHuman})
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitConfigInvalid {
		t.Fatalf("err = %v\n%s", err, out)
	}
	for _, want := range []string{"plinth:spec.certificateArn", "account 444444444444", "account 333333333333"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
