package livecloud_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// TestSampleServiceUsesTheDataTierLive is issue 12's item 5 through the real binary and engine: up staging
// with one read replica, deploy the sample service, and GET /health through the published HTTPS address (the
// live CA verified): a write to the primary read back from the replica ("databaseRead": "replica") and a
// cache round trip over TLS, as the application user (never the master), with the endpoints and the
// secrets' ids from the app tier's user data and the values resolved from the local Secrets Manager into a
// 0600 file of the service user's; no secret value in `local status`, the service's log or the environment
// file.
func TestSampleServiceUsesTheDataTierLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "staging")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	project := projectCopy(t, root)
	addStagingReplica(t, project)
	home := t.TempDir()
	plinth := plinthCLI(t, root, project, home)
	start := time.Now()
	plinth("up", "--stack", "staging", "--cloud", "local")
	t.Logf("up staging with a replica: %s", time.Since(start).Round(time.Millisecond))
	defer plinth("destroy", "--stack", "staging", "--cloud", "local", "--yes")

	var st cmdutil.LocalStatus
	statusJSON := plinth("local", "status", "--stack", "staging", "-o", "json")
	if err := json.Unmarshal([]byte(statusJSON), &st); err != nil || len(st.Stacks) != 1 {
		t.Fatalf("status JSON (%v): %s", err, statusJSON)
	}
	s := st.Stacks[0]
	if len(s.Databases) != 2 || len(s.Caches) != 1 {
		t.Fatalf("data tier: %+v %+v", s.Databases, s.Caches)
	}

	svc := filepath.Join(t.TempDir(), "webservice")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=data-v1", "-o", svc, "./examples/webservice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the sample service: %v\n%s", err, out)
	}
	plinth("deploy", "--stack", "staging", "--tier", "app", "--artifact", svc, "--version", "data-v1", "-m", "data tier")

	code, body := httpsBody(t, s.CAFile, s.URL+"/health")
	var health map[string]string
	if err := json.Unmarshal([]byte(body), &health); err != nil {
		t.Fatalf("GET %s/health: %d %s", s.URL, code, body)
	}
	if code != 200 || health["status"] != "ok" || health["version"] != "data-v1" || health["database"] != "ok" ||
		health["databaseRead"] != "replica" || health["cache"] != "ok" {
		t.Fatalf("GET %s/health: %d %v", s.URL, code, health)
	}
	t.Logf("GET %s/health (CA %s): %s", s.URL, s.CAFile, strings.TrimSpace(body))

	// The secrets: the application user's own (not the master's), resolved into a 0600 file of the service
	// user's on the host, in no log, status or environment file.
	secrets := live.OpenSecrets(findFile(t, home, filepath.Join("secretsmanager", "secrets.json")))
	raw, err := secrets.Get(userdata.AppDBSecretID("staging"))
	if err != nil {
		ids, _ := secrets.IDs()
		t.Fatalf("app user secret: %v (ids %v)", err, ids)
	}
	var app struct{ Username, Password string }
	if err := json.Unmarshal([]byte(raw), &app); err != nil || app.Username != userdata.AppDBUser || len(app.Password) < 16 {
		t.Fatalf("app user secret: user %q, %v", app.Username, err)
	}
	hostDir := filepath.Join(home, "live", "stacks", live.StackID("staging"), "hosts", "app-1")
	fi, err := os.Stat(filepath.Join(hostDir, "default", "plinth-app.secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if sys := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || sys.Uid != 2000 {
		t.Errorf("secrets file on the host: %v uid %d, want 0600 of the service user (2000)", fi.Mode(), sys.Uid)
	}
	for _, f := range []string{filepath.Join(hostDir, "default", "plinth-app"), filepath.Join(hostDir, "log", "plinth-app.service.log")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), app.Password) {
			t.Errorf("%s holds the application user's password", f)
		}
	}
	if human := plinth("local", "status", "--stack", "staging"); strings.Contains(human+statusJSON, app.Password) {
		t.Error("local status shows the application user's password")
	}
}

// addStagingReplica gives the copy's staging one read replica (staging has none by default).
func addStagingReplica(t *testing.T, project string) {
	t.Helper()
	path := filepath.Join(project, "environments", "Pulumi.staging.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimRight(string(b), "\n") + "\n    database:\n      readReplicas: 1\n"
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// findFile is the one file under dir whose path ends in rel.
func findFile(t *testing.T, dir, rel string) string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, string(filepath.Separator)+rel) {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("%s under %s: %v", rel, dir, found)
	}
	return found[0]
}
