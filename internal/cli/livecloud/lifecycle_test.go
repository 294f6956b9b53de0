package livecloud_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// TestLifecycleLive drives the live cloud's lifecycle through the real binary and engine, with the live cloud
// on by default (PLINTH_LOCAL_LIVE unset, as root): up; `local stop` stops every process and keeps the state
// (a host's /srv); an up that changes nothing brings the platform back at the same addresses and ports; a
// host whose sshd is killed is replaced by the server (same tier, new name, new address), the replacement is
// kept in allocation.json and survives `local stop` + `local start`; `desired` in the stack config scales the
// app tier out and in with `up`; destroy leaves no process, namespace, mount, nftables table, listener or
// allocation.
func TestLifecycleLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "staging") // TestMakeRunDeploysTheSampleService (internal/cli) brings staging up too
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	project := projectCopy(t, root)
	home := t.TempDir()
	plinth := plinthCLI(t, root, project, home)
	status := func() cmdutil.LocalStackStatus {
		t.Helper()
		var st cmdutil.LocalStatus
		out := plinth("local", "status", "--stack", "staging", "-o", "json")
		if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Stacks) != 1 {
			t.Fatalf("status JSON (%v): %s", err, out)
		}
		return st.Stacks[0]
	}
	beforeTables := nftTables(t)
	up := func() { t.Helper(); plinth("up", "--stack", "staging", "--cloud", "local") }

	start := time.Now()
	up()
	t.Logf("up staging (live by default): %s", time.Since(start).Round(time.Millisecond))
	first := status()
	// The four instances (app, worker, sftp, bastion) and the data tier's two managed nodes.
	if len(first.Hosts) != 6 || countTier(first, "db") != 1 || !strings.HasPrefix(first.URL, "https://127.0.0.1:") {
		t.Fatalf("after up: %+v", first)
	}
	started := stackNamespaces(t, home, "staging")
	liveDir := filepath.Join(home, "live")
	stackDir := filepath.Join(liveDir, "stacks", live.StackID("staging"))
	marker := filepath.Join(stackDir, "hosts", "app-1", "srv", "plinth", "kept")
	if err := os.WriteFile(marker, []byte("state\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// local stop: every process and namespace gone, the published port closed, the state kept.
	server := serverPid(t, liveDir)
	procs := processTree(t, server)
	plinth("local", "stop")
	assertNothingLive(t, started, procs, first.URL)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("local stop lost the host's /srv: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stackDir, live.AllocationFile)); err != nil {
		t.Fatalf("local stop lost the allocation: %v", err)
	}

	// An up that changes nothing brings it back: same hosts, addresses, URL and bastion; /srv as it was.
	up()
	if again := status(); !sameHosts(again, first) || again.URL != first.URL || again.Bastion != first.Bastion {
		t.Fatalf("after stop and a no-change up:\n%+v\nwant\n%+v", again, first)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the restarted host lost its /srv: %v", err)
	}

	// Self-healing: kill app-1's sshd; the server replaces the host.
	rep, err := live.NewClient(live.SocketPath(liveDir)).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	killed := false
	for _, p := range rep.Stacks[0].Processes {
		if p.Name == "app-1/sshd" && p.Running {
			if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if !killed {
		t.Fatalf("no running app-1/sshd in %+v", rep.Stacks[0].Processes)
	}
	killedAt := time.Now()
	app1 := hostNamed(first, "app-1")
	var healed cmdutil.LocalHostStatus
	deadline := time.Now().Add(30 * time.Second)
	for healed.Name == "" && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		for _, h := range status().Hosts {
			if h.Tier == "app" && h.Name != "app-1" && h.State == "running" {
				healed = h
			}
		}
	}
	if healed.Name == "" || healed.Address == app1.Address || hostNamed(status(), "app-1").Name != "" {
		t.Fatalf("app-1 (%s) not replaced within 30 s: %+v", app1.Address, status().Hosts)
	}
	t.Logf("app-1 %s replaced by %s %s, running %s after its sshd was killed", app1.Address, healed.Name, healed.Address,
		time.Since(killedAt).Round(100*time.Millisecond))
	a, err := live.LoadAllocation(stackDir, "staging")
	if err != nil || len(a.Replacements) != 1 || a.Replacements[0].New != healed.Name || a.Replacements[0].NewAddress != healed.Address {
		t.Fatalf("allocation after healing: %+v %v", a, err)
	}
	// A deploy after healing stages the release onto the replacement: the published 443 answers with it.
	svc := filepath.Join(t.TempDir(), "webservice")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=healed-v1", "-o", svc, "./examples/webservice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the sample service: %v\n%s", err, out)
	}
	out := plinth("deploy", "--stack", "staging", "--tier", "app", "--artifact", svc, "--version", "healed-v1", "-m", "after healing")
	if !strings.Contains(out, healed.Name) {
		t.Errorf("the deploy did not reach the replacement %s:\n%s", healed.Name, out)
	}
	if code, body := httpsBody(t, first.CAFile, first.URL+"/health"); code != 200 || !strings.Contains(body, "healed-v1") {
		t.Fatalf("after deploying to the replacement: %d %s", code, body)
	}

	// The replacement survives an up (the engine's records still say app-1) and a stop/start.
	up()
	if h := hostNamed(status(), healed.Name); h.Address != healed.Address {
		t.Fatalf("after an up the replacement is %+v, want %+v", status().Hosts, healed)
	}
	plinth("local", "stop")
	out = plinth("local", "start")
	if !strings.Contains(out, healed.Name) || !strings.Contains(out, first.URL) {
		t.Fatalf("local start:\n%s", out)
	}
	if h := hostNamed(status(), healed.Name); h.Address != healed.Address || h.State != "running" {
		t.Fatalf("after local start: %+v, want %+v", status().Hosts, healed)
	}

	// Scale out and in by desired in the stack config.
	setAppDesired(t, project, 2)
	up()
	if n := countTier(status(), "app"); n != 2 {
		t.Fatalf("desired 2: %d app hosts: %+v", n, status().Hosts)
	}
	setAppDesired(t, project, 1)
	up()
	if n := countTier(status(), "app"); n != 1 {
		t.Fatalf("desired 1: %d app hosts: %+v", n, status().Hosts)
	}

	server = serverPid(t, liveDir)
	procs = processTree(t, server)
	last := status()
	all := stackNamespaces(t, home, "staging")
	plinth("destroy", "--stack", "staging", "--cloud", "local", "--yes")
	assertNothingLive(t, all, procs, last.URL)
	if bastion := last.Bastion; bastion != "" {
		if c, err := net.DialTimeout("tcp", bastion, time.Second); err == nil {
			c.Close()
			t.Errorf("bastion %s still listens after destroy", bastion)
		}
	}
	if got := nftTables(t); !slices.Equal(got, beforeTables) {
		t.Errorf("nftables tables in the root namespace: %v, before %v", got, beforeTables)
	}
	if _, err := os.Stat(filepath.Join(stackDir, live.AllocationFile)); !os.IsNotExist(err) {
		t.Errorf("allocation left after destroy: %v", err)
	}
}

// assertNothingLive checks none of the namespaces, processes, mounts of the platform, nor its published
// HTTPS port, is left.
func assertNothingLive(t *testing.T, nss []string, procs []proc, url string) {
	t.Helper()
	if left := slices.DeleteFunc(namespaces(t), func(n string) bool { return !slices.Contains(nss, n) }); len(left) > 0 { // nss: the platform's own
		t.Errorf("namespaces left: %v", left)
	}
	assertProcessesGone(t, procs)
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		for _, ns := range nss {
			if strings.Contains(line, "/run/netns/"+ns+" ") {
				t.Errorf("mount left: %s", line)
			}
		}
	}
	addr := strings.TrimPrefix(url, "https://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still listens", addr)
	}
}

func serverPid(t *testing.T, liveDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(liveDir, "live.pid"))
	if err != nil {
		t.Fatalf("no server pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func nftTables(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		t.Fatalf("nft list tables: %v", err)
	}
	return strings.Fields(string(out))
}

func sameHosts(a, b cmdutil.LocalStackStatus) bool {
	return slices.EqualFunc(a.Hosts, b.Hosts, func(x, y cmdutil.LocalHostStatus) bool {
		return x.Name == y.Name && x.Address == y.Address && x.Tier == y.Tier && x.State == "running"
	})
}

func hostNamed(s cmdutil.LocalStackStatus, name string) cmdutil.LocalHostStatus {
	for _, h := range s.Hosts {
		if h.Name == name {
			return h
		}
	}
	return cmdutil.LocalHostStatus{}
}

func countTier(s cmdutil.LocalStackStatus, tier string) int {
	n := 0
	for _, h := range s.Hosts {
		if h.Tier == tier && h.State == "running" {
			n++
		}
	}
	return n
}

// projectCopy is a platform repository with the stacks' config (the program is built into plinth).
func projectCopy(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(root, "environments", "Pulumi.*.yaml"))
	files = append(files, filepath.Join(root, "Pulumi.yaml"))
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// setAppDesired sets plinth:spec.tiers.app.desired in the copy's staging config.
func setAppDesired(t *testing.T, project string, n int) {
	t.Helper()
	path := filepath.Join(project, "environments", "Pulumi.staging.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.Index(s, "\n    tiers:"); i >= 0 {
		s = s[:i+1]
	}
	s = strings.TrimRight(s, "\n") + "\n    tiers:\n      app:\n        desired: " + strconv.Itoa(n) + "\n"
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
