package preview

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func repoRoot() (string, error) { return "../../../..", nil }

func TestOfflineHuman(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	err := previewRun(context.Background(), &PreviewOptions{IO: io, ProjectDir: repoRoot, Stack: "production", Offline: true, Output: cmdutil.OutputHuman})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Offline preview of stack production", "├─ plinth:network:Network  production-network  (45 resources)",
		"plinth:database:Database  production-db", "plinth:backupvault:BackupVault  production-vault",
		"aws:rds/instance:Instance  production-db-dr-replica", "Resources by type:", "287  total",
		"inventory.bastion.address", "Policy: no violations.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestOfflineJSON(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	if err := previewRun(context.Background(), &PreviewOptions{IO: io, ProjectDir: repoRoot, Stack: "staging", Offline: true, Output: cmdutil.OutputJSON}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Stack     string `json:"stack"`
		Resources []struct {
			Type, Name, Parent, URN string
		} `json:"resources"`
		Counts     map[string]int `json:"counts"`
		Total      int            `json:"total"`
		Components map[string]int `json:"components"`
		Outputs    map[string]any `json:"outputs"`
		Violations []any          `json:"violations"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, n := range doc.Counts {
		sum += n
	}
	if doc.Stack != "staging" || doc.Total != len(doc.Resources) || sum != doc.Total || doc.Violations == nil {
		t.Errorf("stack %q total %d resources %d sum %d", doc.Stack, doc.Total, len(doc.Resources), sum)
	}
	urns := map[string]bool{}
	for _, r := range doc.Resources {
		urns[r.URN] = true
	}
	for _, r := range doc.Resources {
		if r.Type == "" || r.Name == "" || r.Parent == "" {
			t.Errorf("resource %+v lacks type, name or parent", r)
		}
		if !urns[r.Parent] && !strings.Contains(r.Parent, "pulumi:pulumi:Stack") {
			t.Errorf("%s: parent %s is not in the tree", r.Name, r.Parent)
		}
	}
	if doc.Components["staging-network"] == 0 || doc.Outputs["inventory"] == nil {
		t.Errorf("components %v outputs %v", doc.Components, doc.Outputs)
	}
}

// A broken stack file in the project directory wins over the built-in one and fails with every problem.
func TestOfflineInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := "config:\n  plinth:spec:\n    environment: production\n    azCount: 1\n    adminCidrs: [0.0.0.0/0]\n"
	if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi.production.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, _, _ := iostreams.Test()
	err := previewRun(context.Background(), &PreviewOptions{IO: io, ProjectDir: func() (string, error) { return dir, nil },
		Stack: "production", Offline: true, Output: cmdutil.OutputHuman})
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitConfigInvalid {
		t.Fatalf("err = %v, want exit %d", err, cmdutil.ExitConfigInvalid)
	}
	for _, key := range []string{"plinth:spec.azCount", "plinth:spec.adminCidrs[0]", "plinth:spec.accountId", "plinth:spec.domain"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %s:\n%v", key, err)
		}
	}
}

func TestUnknownStack(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	err := previewRun(context.Background(), &PreviewOptions{IO: io, ProjectDir: repoRoot, Stack: "qa", Offline: true, Output: cmdutil.OutputHuman})
	if err == nil || !strings.Contains(err.Error(), `stack "qa"`) {
		t.Errorf("err = %v", err)
	}
	err = previewRun(context.Background(), &PreviewOptions{IO: io, ProjectDir: repoRoot, Stack: "../etc", Offline: true})
	var flagErr *cmdutil.FlagError
	if !errors.As(err, &flagErr) {
		t.Errorf("path-like stack: err = %v", err)
	}
}

func TestPreviewFlags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, ProjectDir: repoRoot}
	var got *PreviewOptions
	cmd := NewCmdPreview(f, func(_ context.Context, o *PreviewOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--offline", "-s", "production", "-o", "json"})
	if err := cmd.Execute(); err != nil || !got.Offline || got.Stack != "production" || got.Output != "json" {
		t.Fatalf("parsed %+v, %v", got, err)
	}
	cmd = NewCmdPreview(f, func(context.Context, *PreviewOptions) error { return nil })
	cmd.SetArgs([]string{"--offline"})
	cmd.SetErr(io.ErrOut)
	var flagErr *cmdutil.FlagError
	if err := cmd.Execute(); !errors.As(err, &flagErr) {
		t.Errorf("missing --stack: err = %v", err)
	}
}
