package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

// complete runs the shell's hidden `plinth __complete ARGS` against the real command tree and returns the
// candidates (without the trailing directive line).
func complete(t *testing.T, f *cmdutil.Factory, args ...string) []string {
	t.Helper()
	root := NewCmdRoot(f)
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("__complete %v: %v", args, err)
	}
	out := f.IOStreams.Out.(interface{ String() string }).String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[:len(lines)-1]
}

func testFactory(t *testing.T, projectDir string, env map[string]string) *cmdutil.Factory {
	ios, _, _, _ := iostreams.Test()
	return &cmdutil.Factory{IOStreams: ios, ProjectDir: func() (string, error) { return projectDir, nil },
		Getenv: func(k string) string { return env[k] }}
}

func TestCompleteStacks(t *testing.T) {
	f := testFactory(t, "../..", nil)
	for _, args := range [][]string{
		{"preview", "--stack", "pr"}, {"up", "-s", "pr"}, {"graph", "--stack", "pr"}, {"deploy", "--stack", "pr"},
		{"backup", "list", "--stack", "pr"}, {"policy", "check", "--stack", "pr"}, {"drift", "--stack", "pr"},
	} {
		if got := complete(t, testFactory(t, "../..", nil), args...); strings.Join(got, " ") != "preproduction production" {
			t.Errorf("%v: %q", args, got)
		}
	}
	if got := complete(t, f, "validate", "--stack", ""); strings.Join(got, " ") != "preproduction production staging" {
		t.Errorf("every stack: %q", got)
	}
	// A project's own stacks, not the shipped ones.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"qa", "prod-eu"} {
		if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi."+s+".yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := complete(t, testFactory(t, dir, nil), "up", "--stack", ""); strings.Join(got, " ") != "prod-eu qa" {
		t.Errorf("project stacks: %q", got)
	}
}

func TestCompleteTiers(t *testing.T) {
	for _, args := range [][]string{{"deploy", "--tier", ""}, {"deploy", "rollback", "--tier", ""}, {"deploy", "history", "-t", "w"}} {
		got := complete(t, testFactory(t, "../..", nil), args...)
		want := "app worker sftp"
		if args[len(args)-1] == "w" {
			want = "worker"
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%v: %q, want %q", args, got, want)
		}
	}
}

// TestCompleteBackupIDs lists a real file:// vault: complete backups (a manifest) newest first after
// "latest"; an unfinished one is left out; an unreadable vault completes only "latest".
func TestCompleteBackupIDs(t *testing.T) {
	vault := t.TempDir()
	for id, complete := range map[string]bool{
		"20260101T020000Z": true, "20260102T020000Z": true, "20260103T020000Z": false,
	} {
		name := "data-part"
		if complete {
			name = manifest.ManifestName
		}
		if err := os.MkdirAll(filepath.Join(vault, id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vault, id, name), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"backup", "verify", "--store", "file://" + vault, ""},
		{"backup", "restore", "--store", "file://" + vault, "2026"},
	} {
		got := complete(t, testFactory(t, "../..", nil), args...)
		want := []string{"latest\tthe newest restorable backup", "20260102T020000Z\t2026-01-02 02:00 UTC", "20260101T020000Z\t2026-01-01 02:00 UTC"}
		if args[len(args)-1] == "2026" {
			want = want[1:]
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%v:\n got %q\nwant %q", args, got, want)
		}
	}
	// The store from the environment, as the backup commands read it.
	got := complete(t, testFactory(t, "../..", map[string]string{"PLINTH_BACKUP_STORE": "file://" + vault}), "backup", "verify", "")
	if len(got) != 3 {
		t.Errorf("store from the environment: %q", got)
	}
	got = complete(t, testFactory(t, "../..", nil), "backup", "verify", "--store", "file://"+filepath.Join(vault, "missing"), "")
	if strings.Join(got, "|") != "latest\tthe newest restorable backup" {
		t.Errorf("unreadable vault: %q", got)
	}
}

// --cloud completes the clouds on every command that has it: the engine commands, the backup verbs, the drill.
func TestCompleteClouds(t *testing.T) {
	for _, args := range [][]string{
		{"up", "--cloud", ""}, {"backup", "list", "--cloud", ""}, {"backup", "restore", "--cloud", ""},
		{"drill", "--cloud", ""}, {"drill", "history", "--cloud", ""},
	} {
		if got := complete(t, testFactory(t, "../..", nil), args...); strings.Join(got, " ") != "aws local" {
			t.Errorf("%v: %q", args, got)
		}
	}
	if got := complete(t, testFactory(t, "../..", nil), "backup", "run", "--cloud", "l"); strings.Join(got, " ") != "local" {
		t.Errorf("prefix: %q", got)
	}
}
