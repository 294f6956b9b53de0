// Package ci_test proves the CI pipelines in examples/ci: their shape (the phases, the approval before
// production, OIDC and no stored keys) and, against the local cloud through the real plinth CLI and the real
// Pulumi engine, the very commands their jobs run: the merge-request phase, the apply phase with the saved
// plans, then a nightly drift that fails with exit 5.
package ci_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

type githubWorkflow struct {
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Needs       any    `yaml:"needs"`
		If          string `yaml:"if"`
		Environment any    `yaml:"environment"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readGitHub(t *testing.T) githubWorkflow {
	t.Helper()
	data, err := os.ReadFile("github/workflows/plinth.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf githubWorkflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("github workflow: %v", err)
	}
	return wf
}

// ciCommand returns the one plinth-ci.sh command a GitHub job runs.
func (wf githubWorkflow) ciCommand(t *testing.T, job string) string {
	t.Helper()
	var cmds []string
	for _, s := range wf.Jobs[job].Steps {
		if strings.Contains(s.Run, "plinth-ci.sh") {
			cmds = append(cmds, strings.TrimSpace(s.Run))
		}
	}
	if len(cmds) != 1 {
		t.Fatalf("job %s runs plinth-ci.sh %d times, want once: %q", job, len(cmds), cmds)
	}
	return cmds[0]
}

// ciCall is a GitLab script line calling plinth-ci.sh.
var ciCall = regexp.MustCompile(`(?m)^\s*- (examples/ci/plinth-ci\.sh [a-z-]+(?: [^\n#]+)?)`)

// TestPipelinesShape checks what the workflows promise: the phases and their order, the approval gate before
// production, OIDC credentials, no stored keys, and the same plinth-ci.sh calls in GitHub and GitLab.
func TestPipelinesShape(t *testing.T) {
	wf := readGitHub(t)
	if wf.Permissions["id-token"] != "write" {
		t.Errorf("github: permissions.id-token = %q, want write (OIDC)", wf.Permissions["id-token"])
	}
	want := map[string]string{
		"plan":                "examples/ci/plinth-ci.sh merge-request preproduction production",
		"apply-preproduction": "examples/ci/plinth-ci.sh apply preproduction",
		"apply-production":    "examples/ci/plinth-ci.sh apply production",
		"drift":               "examples/ci/plinth-ci.sh drift ${{ matrix.stack }}",
	}
	for job, cmd := range want {
		if got := wf.ciCommand(t, job); got != cmd {
			t.Errorf("github %s runs %q, want %q", job, got, cmd)
		}
		oidc := 0
		for _, s := range wf.Jobs[job].Steps {
			if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") && s.With["role-to-assume"] != "" ||
				strings.HasPrefix(s.Uses, "google-github-actions/auth@") && s.With["workload_identity_provider"] != "" {
				oidc++
			}
		}
		if oidc != 2 {
			t.Errorf("github %s: %d OIDC credential steps, want AWS and GCP", job, oidc)
		}
	}
	if n := wf.Jobs["apply-preproduction"].Needs; n != "plan" {
		t.Errorf("apply-preproduction needs %v, want plan", n)
	}
	if n := wf.Jobs["apply-production"].Needs; n != "apply-preproduction" || wf.Jobs["apply-production"].Environment != "production" {
		t.Errorf("apply-production needs %v in environment %v: want apply-preproduction, and the production environment (its reviewers approve)", n, wf.Jobs["apply-production"].Environment)
	}
	if !strings.Contains(wf.Jobs["drift"].If, "schedule") {
		t.Errorf("drift runs if %q, want on the schedule", wf.Jobs["drift"].If)
	}

	gl, err := os.ReadFile("gitlab/.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(gl, &doc); err != nil {
		t.Fatalf("gitlab: %v", err)
	}
	var glCalls, ghCalls []string
	for _, m := range ciCall.FindAllStringSubmatch(string(gl), -1) {
		glCalls = append(glCalls, strings.TrimSpace(strings.ReplaceAll(m[1], `"$STACK"`, "STACK")))
	}
	for _, job := range []string{"plan", "apply-preproduction", "apply-production", "drift"} {
		ghCalls = append(ghCalls, strings.ReplaceAll(wf.ciCommand(t, job), "${{ matrix.stack }}", "STACK"))
	}
	if strings.Join(glCalls, "\n") != strings.Join(ghCalls, "\n") {
		t.Errorf("gitlab runs\n%s\ngithub runs\n%s", strings.Join(glCalls, "\n"), strings.Join(ghCalls, "\n"))
	}
	prod, _ := doc["apply-production"].(map[string]any)
	rules, _ := prod["rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["when"] != "manual" {
		t.Errorf("gitlab apply-production rules %v: want when: manual", rules)
	}
	if def, _ := doc["default"].(map[string]any); def["id_tokens"] == nil {
		t.Error("gitlab: no id_tokens (OIDC)")
	}
	for _, f := range []string{"github/workflows/plinth.yml", "gitlab/.gitlab-ci.yml", "gitlab/oidc-env.sh", "plinth-ci.sh"} {
		data, _ := os.ReadFile(f)
		for _, key := range []string{"AWS_SECRET_ACCESS_KEY", "aws-secret-access-key", "credentials_json", "secrets."} {
			if bytes.Contains(data, []byte(key)) {
				t.Errorf("%s mentions %s: long-lived keys have no place in the pipeline", f, key)
			}
		}
	}
}

// TestPipelineAgainstLocalCloud runs the workflow's own plinth-ci.sh lines, in the pipeline's order, in a copy
// of the platform repo (a git checkout: the promotion gate compares commits) with the real plinth binary and
// the real Pulumi engine on the local cloud.
func TestPipelineAgainstLocalCloud(t *testing.T) {
	wf := readGitHub(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pulumi, err := filepath.Abs(localcloudtest.PulumiCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	tools := t.TempDir()
	plinth := filepath.Join(tools, "plinth")
	build := exec.Command("go", "build", "-o", plinth, "./cmd/plinth")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build plinth: %v\n%s", err, out)
	}
	project := platformRepo(t, root)
	home := t.TempDir()
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := []string{
		"PATH=" + tools + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"PLINTH_HOME=" + home, "PLINTH_PROJECT_DIR=" + project, "PLINTH_CLOUD=local", "PLINTH_PULUMI=" + pulumi,
		"PLINTH_LOCAL_LIVE=0", // the records only: make test runs as root, where the live cloud is on by default
		"PULUMI_HOME=" + filepath.Join(home, "pulumi-home"), "PULUMI_CONFIG_PASSPHRASE=ci-test",
		"PLINTH_PLAN_DIR=plans", "GITHUB_STEP_SUMMARY=" + summary,
		// A throwaway local state: the engine may skip its per-step checkpoints (docs/provisioning.md).
		"PULUMI_SKIP_CHECKPOINTS=true",
	}
	run := func(line string) (string, int) {
		t.Helper()
		cmd := exec.Command("bash", "-e", "-c", line) // GitHub runs `run:` with bash -e
		cmd.Dir, cmd.Env = project, env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("%s: %v", line, err)
		return "", 0
	}

	// Merge request: validate, policy, preview --save-plan; the plans are the artifact.
	out, code := run(wf.ciCommand(t, "plan"))
	if code != 0 {
		t.Fatalf("merge-request phase: exit %d\n%s", code, out)
	}
	sum, _ := os.ReadFile(summary)
	for _, stack := range []string{"preproduction", "production"} {
		if fi, err := os.Stat(filepath.Join(project, "plans", stack+".plan.json")); err != nil || fi.Size() == 0 {
			t.Fatalf("no saved plan for %s: %v", stack, err)
		}
		if !regexp.MustCompile(`\| ` + stack + ` \| [0-9]+ create.*\| ` + stack + `\.plan\.json \(sha256 [0-9a-f]{12}`).Match(sum) {
			t.Errorf("job summary lacks %s's plan:\n%s", stack, sum)
		}
	}
	for _, want := range []string{"preproduction: valid", "Policy: no violations.", "preview production:"} {
		if !strings.Contains(out, want) {
			t.Errorf("merge-request log lacks %q", want)
		}
	}

	// Merge: exactly the saved plans, preproduction first, then production through the promotion gate.
	for _, stack := range []string{"preproduction", "production"} {
		out, code := run(wf.ciCommand(t, "apply-"+stack))
		if code != 0 {
			t.Fatalf("apply %s: exit %d\n%s", stack, code, out)
		}
		if !strings.Contains(out, "up "+stack+": ") || !strings.Contains(out, "applied plan ") ||
			!strings.Contains(out, "/plans/"+stack+".plan.json (sha256 ") {
			t.Errorf("apply %s does not report the applied plan:\n%s", stack, lastLines(out, 5))
		}
	}

	// Nightly: someone changed the production VPC in the console; the drift job fails with exit 5.
	dirs, _ := filepath.Glob(filepath.Join(home, "localcloud", "*", "production.json"))
	if len(dirs) != 1 {
		t.Fatalf("local cloud state for production: %v", dirs)
	}
	store, err := localcloud.NewStore(filepath.Dir(dirs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Drift("production", "production-network-vpc", "tags", map[string]any{"owner": "someone-in-the-console"}); err != nil {
		t.Fatal(err)
	}
	drift := strings.ReplaceAll(wf.ciCommand(t, "drift"), "${{ matrix.stack }}", "production")
	out, code = run(drift)
	if code != 5 || !strings.Contains(out, "drift in production") || !strings.Contains(out, "production-network-vpc") {
		t.Fatalf("drift job: exit %d (want 5)\n%s", code, lastLines(out, 15))
	}
}

// platformRepo lays out what an SRE's platform repo holds (the program's config and the CI script) as a
// clean git checkout.
func platformRepo(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(root, "environments", "Pulumi.*.yaml"))
	files = append(files, filepath.Join(root, "Pulumi.yaml"), filepath.Join(root, "examples", "ci", "plinth-ci.sh"))
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "."},
		{"-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q", "-m", "platform"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
