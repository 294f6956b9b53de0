package livecloud_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
	"github.com/plinth-dev/plinth/internal/proctree"
	"github.com/plinth-dev/plinth/internal/tlsx"
)

// TestUpStatusDestroyLive runs the real plinth binary: `up --stack staging --cloud local` with
// PLINTH_LOCAL_LIVE=1 through the real engine starts the live server on demand and its hosts; `local status
// -o json` lists them with a URL that answers HTTPS (verified with the CA file); `destroy` leaves none of the
// namespaces or processes it started.
func TestUpStatusDestroyLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "staging") // TestMakeRunDeploysTheSampleService (internal/cli) brings staging up too
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	plinth := plinthCLI(t, root, root, home, "PLINTH_LOCAL_LIVE=1")
	plinth("up", "--stack", "staging", "--cloud", "local")
	started := stackNamespaces(t, home, "staging")
	if len(started) < 5 { // edge, bastion, app, worker, sftp (and the load balancer)
		t.Fatalf("namespaces started by up: %v", started)
	}
	pidB, err := os.ReadFile(filepath.Join(home, "live", "live.pid"))
	if err != nil {
		t.Fatalf("no server pid file: %v", err)
	}
	server, _ := strconv.Atoi(strings.TrimSpace(string(pidB)))
	procs := processTree(t, server)
	if len(procs) < 5 {
		t.Fatalf("server %d runs %v", server, procs)
	}

	var st cmdutil.LocalStatus
	out := plinth("local", "status", "--stack", "staging", "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	if len(st.Stacks) != 1 || st.Stacks[0].Stack != "staging" || !strings.HasPrefix(st.Stacks[0].URL, "https://127.0.0.1:") ||
		!strings.HasPrefix(st.Stacks[0].Bastion, "127.0.0.1:") || len(st.Stacks[0].Hosts) != 6 {
		t.Fatalf("status: %s", out) // 4 instances, the database's and the cache's managed nodes
	}
	// The data tier runs: staging's primary, its cache node, its vault.
	if s := st.Stacks[0]; len(s.Databases) != 1 || s.Databases[0].Role != "primary" || s.Databases[0].LagSeconds != 0 ||
		len(s.Caches) != 1 || s.Vault == nil || !strings.HasPrefix(s.Vault.URL, "https://127.0.0.1:") {
		t.Fatalf("data tier: %s", out)
	}
	for _, h := range st.Stacks[0].Hosts {
		if h.State != "running" || !strings.HasPrefix(h.Address, "10.") || h.Tier == "" {
			t.Errorf("host %+v", h)
		}
	}
	// Nothing is deployed yet: HAProxy answers over verified TLS with 503 (no healthy target).
	if code := httpsGet(t, st.Stacks[0].CAFile, st.Stacks[0].URL+"/health"); code != http.StatusServiceUnavailable {
		t.Errorf("GET %s/health: %d, want 503 before any deploy", st.Stacks[0].URL, code)
	}
	testBackupThroughTheCLI(t, plinth)
	if human := plinth("local", "status"); !strings.Contains(human, "app-1") || !strings.Contains(human, st.Stacks[0].URL) {
		t.Errorf("status:\n%s", human)
	}

	plinth("destroy", "--stack", "staging", "--cloud", "local", "--yes")
	if left := stackNamespaces(t, home, "staging"); len(left) > 0 {
		t.Errorf("namespaces left after destroy: %v", left)
	}
	assertProcessesGone(t, procs)
	if out := plinth("local", "status", "-o", "json"); strings.TrimSpace(out) != `{
  "stacks": []
}` {
		t.Errorf("status after destroy: %s", out)
	}
}

func tailOf(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// namespaces lists the named network namespaces of the live cloud (plt-*).
// stackNamespaces are the namespaces of stack's platform under plinth home (named by its platform id: other
// tests' and jobs' platforms, which may come and go meanwhile, are not counted).
func stackNamespaces(t *testing.T, home, stack string) []string {
	t.Helper()
	prefix := live.NamePrefix + live.PlatformID(filepath.Join(home, "live"), stack) + "-"
	return slices.DeleteFunc(namespaces(t), func(n string) bool { return !strings.HasPrefix(n, prefix) })
}

func namespaces(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), live.NamePrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// descendants lists the processes below pid (from /proc/*/stat).
// proc is one process named by pid and start time: a pid the kernel hands out again later (pid_max may be
// 32768) is not it.
type proc struct {
	pid   int
	start uint64
}

// processTree is pid and everything running below it now.
func processTree(t *testing.T, pid int) []proc {
	t.Helper()
	var out []proc
	for _, p := range append(proctree.Descendants(pid), pid) {
		if st, ok := proctree.StartTime(p); ok {
			out = append(out, proc{p, st})
		}
	}
	return out
}

// assertProcessesGone waits up to 10 s for every process of procs to have exited (a zombie counts as gone:
// the supervisor has stopped it and whoever inherited it has not reaped it yet) and names the ones left.
func assertProcessesGone(t *testing.T, procs []proc) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // the server exits just after it removed its pid file
	for _, p := range procs {
		for proctree.Alive(p.pid, p.start) {
			if time.Now().After(deadline) {
				cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
				t.Errorf("process %d left: %s", p.pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func httpsGet(t *testing.T, caFile, url string) int {
	t.Helper()
	code, _ := httpsBody(t, caFile, url)
	return code
}

// httpsBody GETs url with the certificate verified against caFile and returns the status code and body.
func httpsBody(t *testing.T, caFile, url string) (int, string) {
	t.Helper()
	c, err := verifiedClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body)
}

// testBackupThroughTheCLI is the "done when": with no --dsn or --store, `backup grant` makes the
// backup user from the master secret, `backup run` backs the live primary up through the bastion into the
// live vault as the writer identity, `backup list` and `backup verify latest` read it as the restore
// identity.
func testBackupThroughTheCLI(t *testing.T, plinth func(args ...string) string) {
	t.Helper()
	key := filepath.Join(t.TempDir(), "restore.key")
	out := plinth("backup", "keygen", "--out", key)
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(out)
	if recipient == "" {
		t.Fatalf("keygen printed no recipient: %s", out)
	}
	// The application user too (the data tier made it already: the grant keeps its password).
	if out := plinth("backup", "grant", "--stack", "staging"); !strings.Contains(out, "plinth/staging/db-backup-user") ||
		!strings.Contains(out, "plinth/staging/db-app-user") {
		t.Errorf("grant: %s", out)
	}
	plinth("backup", "grant", "--stack", "staging") // again: the privileges re-applied, the password kept
	out = plinth("backup", "run", "--stack", "staging", "-r", recipient, "-q")
	t.Logf("backup run: %s", strings.TrimSpace(out))
	if out := plinth("backup", "list", "--stack", "staging"); !strings.Contains(out, "20") {
		t.Errorf("backup list shows no backup: %s", out)
	}
	out = plinth("backup", "verify", "latest", "-i", key, "--stack", "staging", "-q")
	t.Logf("backup verify: %s", strings.TrimSpace(out))
}

// plinthCLI builds the real plinth binary and returns a runner of it in project with PLINTH_HOME=home, the
// repository's Pulumi CLI and the environment extra (after os.Environ, less PLINTH_LOCAL_LIVE: the default
// unless extra sets it); `local stop` runs at cleanup. It fails the test where the live cloud cannot run.
func plinthCLI(t *testing.T, root, project, home string, extra ...string) func(args ...string) string {
	t.Helper()
	run := plinthRunner(t, root, project, home, extra...)
	return func(args ...string) string {
		t.Helper()
		stdout, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("plinth %s: %v\n%s", strings.Join(args, " "), err, tailOf(append(stdout, stderr...)))
		}
		return string(stdout) + string(stderr)
	}
}

// plinthRunner is plinthCLI's runner returning stdout, stderr and the exit error instead of failing; it
// too runs `local stop` at cleanup.
func plinthRunner(t *testing.T, root, project, home string, extra ...string) func(args ...string) ([]byte, []byte, error) {
	t.Helper()
	if err := live.Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "plinth")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "plinth")).CombinedOutput(); err != nil {
		t.Fatalf("build plinth: %v\n%s", err, out)
	}
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PLINTH_LOCAL_LIVE=") }),
		"PLINTH_HOME="+home, "PULUMI_HOME="+t.TempDir(), "PLINTH_PULUMI="+localcloudtest.PulumiCLI(t),
		"PULUMI_CONFIG_PASSPHRASE=live-wire", "PLINTH_PROJECT_DIR="+project, "PLINTH_CLOUD=")
	env = append(env, extra...)
	t.Cleanup(func() {
		cmd := exec.Command(bin, "local", "stop")
		cmd.Env = env
		_ = cmd.Run()
	})
	return func(args ...string) ([]byte, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = project, env, &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.Bytes(), err
	}
}

// verifiedClient is an HTTPS client trusting only caFile's certificates.
func verifiedClient(caFile string) (*http.Client, error) {
	pool, err := tlsx.CAPool(caFile)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}, nil
}
