package livecloud_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// drillSeen is what the watcher saw of the drill stack while the drill ran.
type drillSeen struct {
	stack   string
	url     string
	code    int
	hosts   []string // name@address
	running bool     // the drill database's host ran
	// flows: the DR security groups enforced on the drill hosts (checked once all three ran)
	flows map[string]bool
}

// appUserSeesTheWrite connects to the drill database as production's application user (the password from
// production's secret in the local Secrets Manager) from the drill stack's app-1 namespace, TLS verified with
// the drill platform's CA, and reads the application's health row: at least as recent as atLeast.
func appUserSeesTheWrite(t *testing.T, home, liveDir string, s *live.StackStatus, atLeast string) {
	t.Helper()
	secrets := live.OpenSecrets(findFile(t, home, filepath.Join("secretsmanager", "secrets.json")))
	raw, err := secrets.Get(userdata.AppDBSecretID("production"))
	if err != nil {
		t.Fatal(err)
	}
	var creds live.MasterSecret
	if err := json.Unmarshal([]byte(raw), &creds); err != nil || creds.Username != userdata.AppDBUser {
		t.Fatalf("production's app secret: user %q, %v", creds.Username, err)
	}
	addr := ""
	for _, h := range s.Hosts {
		if h.Name == "drill-db" {
			addr = h.Address
		}
	}
	ns := live.NamePrefix + live.PlatformID(liveDir, s.Stack) + "-app-1"
	db := dbFrom(t, ns, addr, s.CAFile, creds.Username, creds.Password)
	var user, cipher, at string
	err = db.QueryRow("SELECT CURRENT_USER()").Scan(&user)
	if err == nil {
		err = db.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'").Scan(&cipher)
	}
	if err == nil {
		err = db.QueryRow("SELECT at FROM plinth_app.health WHERE id = 1").Scan(&at)
	}
	got, perr := time.Parse(time.RFC3339Nano, at)
	want, _ := time.Parse(time.RFC3339Nano, atLeast)
	if err != nil || perr != nil || !strings.HasPrefix(user, userdata.AppDBUser+"@") || cipher == "" || got.Before(want) {
		t.Errorf("drill database %s as %s: user %q, TLS %q, health row %q (the verify saw %q): %v", addr, creds.Username, user, cipher, at, atLeast, err)
	} else {
		t.Logf("drill database %s as %s over %s: health row at %s (verify saw %s)", addr, user, cipher, at, atLeast)
	}
}

// drillFlows dials the drill database from the drill stack's app host (the DR app group may reach the DR
// db group on 3306) and its sftp host (it may not), inside their namespaces.
func drillFlows(liveDir string, s *live.StackStatus) map[string]bool {
	addr := map[string]string{}
	for _, h := range s.Hosts {
		if h.State == "running" {
			addr[h.Name] = h.Address
		}
	}
	if addr["app-1"] == "" || addr["sftp-1"] == "" || addr["drill-db"] == "" {
		return nil
	}
	out := map[string]bool{}
	for _, from := range []string{"app-1", "sftp-1"} {
		ns := live.NamePrefix + live.PlatformID(liveDir, s.Stack) + "-" + from
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := live.DialFrom(ctx, ns, netip.Addr{}, net.JoinHostPort(addr["drill-db"], "3306"), 2*time.Second)
		cancel()
		out[from+" -> drill-db:3306"] = err == nil
		if err == nil {
			_ = c.Close()
		}
	}
	return out
}

// TestDrillReplicaLive runs `plinth drill --stack production --cloud local --source replica -o json` on the
// live local cloud (the real binary and engine): preflight (the primary through the bastion, the DR
// replica through the server's forward), t0 (heartbeats on the primary), data (the server's drill database
// replicating from production's DR replica, promoted, its RPO measured), platform (the drill stack through
// the engine, its hosts and HAProxy on production's DR VPC bridge, published on 127.0.0.1), deploy
// (production's release, deployed first, from the escrow onto the drill stack through its bastion), verify
// (/health through the drill's published HTTPS address answers database ok, and that write is on the drill
// database; on the kept drill the test reads it there itself as production's application user), report (RTO and RPO measured, verdict met, exit 0)
// and teardown, which leaves no drill namespace, process, link or listener, while production's URL answered
// throughout and its DR replica still replicates. A second drill with --keep stays up and `plinth drill
// teardown ID --stack production` (twice) removes all of it. A third drill, interrupted by SIGINT once its
// drill stack is published (a failure injected mid-drill), still tears down on its own and leaves nothing.
func TestDrillReplicaLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "production")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	run := productionDeployed(t, root, home, "drill-v1")
	client := live.NewClient(live.SocketPath(filepath.Join(home, "live")))
	prod := stackStatus(t, client, "production")
	if prod == nil || prod.URL == "" {
		t.Fatalf("production has no live URL")
	}
	nsBefore := namespaces(t)
	linksBefore := netLinks(t)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var probes, failed atomic.Int64
	var seen drillSeen
	var seenMu sync.Mutex
	wg.Add(2)
	go func() { // production keeps serving: its URL through the published 443, every 250 ms
		defer wg.Done()
		probeProduction(ctx, prod, &probes, &failed)
	}()
	go func() { // the drill stack as `local status` lists it, and its HAProxy through its published address
		defer wg.Done()
		for ctx.Err() == nil {
			if s := drillStatus(client); s != nil {
				seenMu.Lock()
				if seen.url == "" && s.URL != "" {
					seen.stack, seen.url = s.Stack, s.URL
					seen.code, _ = httpsCode(s.CAFile, s.URL+"/health")
				}
				if seen.flows == nil {
					seen.flows = drillFlows(filepath.Join(home, "live"), s)
				}
				if len(s.Hosts) > len(seen.hosts) {
					seen.hosts = nil
					for _, h := range s.Hosts {
						seen.hosts = append(seen.hosts, h.Name+"@"+h.Address)
						seen.running = seen.running || h.Name == "drill-db" && h.State == "running"
					}
				}
				seenMu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	start := time.Now()
	stdout, stderr, runErr := run("drill", "--stack", "production", "--cloud", "local", "--source", "replica", "-o", "json")
	stop()
	wg.Wait()
	t.Logf("drill: %s, exit %v\n%s", time.Since(start).Round(time.Second), runErr, tailOf(stderr))

	rep := drillReport(t, stdout)
	if runErr != nil || rep.Verdict != drill.VerdictMet {
		t.Errorf("verdict %s, exit %v: want met, exit 0", rep.Verdict, runErr)
	}
	// The promoted drill database against production's primary at one GTID position (rows and hashes).
	if m := rep.Tables; m == nil || m.Tables == 0 || len(m.Mismatch) != 0 || m.Skipped != "" || m.GTID == "" {
		t.Errorf("tables %+v: want every table of production's primary matched at one GTID", m)
	} else {
		t.Logf("tables: %d (%d rows) match %s at %s", m.Tables, m.Rows, m.Against, m.GTID)
	}
	if rep.RTOSeconds == nil || *rep.RTOSeconds <= 0 || *rep.RTOSeconds >= 300 {
		t.Errorf("RTO %v: want measured, < 5 min", rep.RTOSeconds)
	} else {
		t.Logf("measured RTO %.1f s", *rep.RTOSeconds)
	}
	if rep.RPOSeconds == nil || *rep.RPOSeconds < 0 || *rep.RPOSeconds > 5 || rep.RPO == nil {
		t.Errorf("RPO %v (%+v): want measured, <= 5 s", rep.RPOSeconds, rep.RPO)
	} else {
		t.Logf("measured RPO %.3f s: %+v", *rep.RPOSeconds, *rep.RPO)
	}
	// The verify step's write: /health through the drill load balancer wrote (database ok, no cache: the
	// drill stack has none), and plinth found that write on the promoted drill database.
	if v := rep.Verify; v == nil || v.Health.Database != "ok" || v.Health.Version != "drill-v1" || v.Health.Cache != "" ||
		v.DatabaseWrite == nil || v.DatabaseWrite.Check() != nil || !strings.Contains(v.DatabaseWrite.Where, "drill") {
		t.Errorf("verify %+v: want a write through the drill LB found on the drill database", v)
	} else {
		t.Logf("verify: %s answered %+v at attempt %d; drill database %s: %s at %s (at promotion %q)", v.URL, v.Health, v.Attempts,
			v.DatabaseWrite.Where, v.DatabaseWrite.Table, v.DatabaseWrite.At, v.DatabaseWrite.Before)
	}
	if rep.LeftBehind != 0 {
		t.Errorf("left behind: %d %v", rep.LeftBehind, rep.LeftBehindList)
	}
	if strings.Contains(string(stderr), "history not recorded") {
		t.Errorf("the report was not recorded in the vault")
	}
	if hist, herr, err := run("drill", "history", "--stack", "production", "-o", "json"); err != nil || !strings.Contains(string(hist), rep.ID) {
		t.Errorf("drill history has no %s: %v\n%s%s", rep.ID, err, hist, tailOf(herr))
	}

	seenMu.Lock()
	defer seenMu.Unlock()
	t.Logf("drill stack %s: %s answered %d; hosts %v", seen.stack, seen.url, seen.code, seen.hosts)
	drNet := netip.MustParsePrefix("10.31.0.0/16")
	if !strings.HasPrefix(seen.url, "https://127.0.0.1:") || seen.code != 503 && seen.code != 200 || !seen.running {
		t.Errorf("drill stack: url %q answered %d, drill database running %v: want HAProxy answering over verified TLS", seen.url, seen.code, seen.running)
	}
	t.Logf("flows from the drill hosts: %v", seen.flows)
	if !seen.flows["app-1 -> drill-db:3306"] || seen.flows["sftp-1 -> drill-db:3306"] {
		t.Errorf("flows %v: want app-1 to reach the drill database and sftp-1 refused (the DR groups' matrix)", seen.flows)
	}
	tiers := map[string]bool{}
	for _, h := range seen.hosts {
		name, addr, _ := strings.Cut(h, "@")
		if a, err := netip.ParseAddr(addr); err != nil || !drNet.Contains(a) {
			t.Errorf("drill host %s at %s: want production's DR VPC %s", name, addr, drNet)
		}
		tiers[strings.TrimRight(name, "-0123456789")] = true
	}
	for _, tier := range []string{"bastion", "app", "drill-db"} {
		if !tiers[tier] {
			t.Errorf("drill hosts %v: no %s", seen.hosts, tier)
		}
	}

	assertDrillGone(t, client, filepath.Join(home, "live"), nsBefore, linksBefore, seen.stack, seen.url)
	t.Logf("production's URL during the drill: %d probes, %d failed", probes.Load(), failed.Load())
	if failed.Load() > 0 || probes.Load() == 0 {
		t.Errorf("production's URL failed %d of %d probes during the drill", failed.Load(), probes.Load())
	}

	// --keep leaves the drill up for inspection; `plinth drill teardown ID --stack production` removes
	// it (the way an interrupted drill is cleaned up too), twice: idempotent.
	ks := keptAndTornDown(t, run, client, func(kept drill.Report, ks *live.StackStatus) {
		// On the kept drill database, as production's application user (its secret, from the drill's app
		// host, TLS verified with the drill's CA): the user replicated with the data and the drill's write is there.
		if kept.Verify == nil || kept.Verify.DatabaseWrite == nil {
			t.Errorf("kept drill verify %+v: no write on the drill database", kept.Verify)
			return
		}
		appUserSeesTheWrite(t, home, filepath.Join(home, "live"), ks, kept.Verify.DatabaseWrite.At)
	}, "--source", "replica")
	assertDrillGone(t, client, filepath.Join(home, "live"), nsBefore, linksBefore, ks.Stack, ks.URL)

	// A failure injected mid-drill: Ctrl-C (SIGINT) once the drill stack is published, while the platform and
	// deploy steps run. The drill must tear down what it made on its own and exit non-zero, leaving nothing.
	type result struct {
		stdout, stderr []byte
		err            error
	}
	done := make(chan result, 1)
	go func() {
		o, e, err := run("drill", "--stack", "production", "--cloud", "local", "--source", "replica", "-o", "json")
		done <- result{o, e, err}
	}()
	var irStack, irURL string
	interrupted := false
	var res result
	for waiting := true; waiting; {
		select {
		case res = <-done:
			waiting = false
		case <-time.After(100 * time.Millisecond):
			if s := drillStatus(client); !interrupted && s != nil && s.URL != "" {
				irStack, irURL = s.Stack, s.URL
				for _, pid := range drillPIDs(t, home) {
					interrupted = syscall.Kill(pid, syscall.SIGINT) == nil || interrupted
				}
			}
		}
	}
	var ir drill.Report
	if !interrupted {
		t.Fatalf("the drill ended before it could be interrupted: %v\n%s", res.err, tailOf(res.stderr))
	}
	if err := json.Unmarshal(res.stdout, &ir); err != nil || res.err == nil || ir.Verdict != drill.VerdictIncomplete {
		t.Errorf("interrupted drill: exit %v, report %v, verdict %q: want a report, non-zero exit, incomplete\n%s",
			res.err, err, ir.Verdict, tailOf(res.stderr))
	}
	irStatus := map[string]string{}
	for _, s := range ir.Steps {
		irStatus[s.Name] = s.Status
		t.Logf("interrupted: step %-9s %-7s %.1fs %s", s.Name, s.Status, s.Seconds, s.Error)
	}
	if irStatus["teardown"] != drill.StatusOK || ir.LeftBehind != 0 {
		t.Errorf("interrupted drill: teardown %s, left %d %v: want ok, 0", irStatus["teardown"], ir.LeftBehind, ir.LeftBehindList)
	}
	assertDrillGone(t, client, filepath.Join(home, "live"), nsBefore, linksBefore, irStack, irURL)
}

// drillPIDs are the pids of `plinth drill` processes running with PLINTH_HOME=home.
func drillPIDs(t *testing.T, home string) []int {
	t.Helper()
	dirs, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err1 := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		env, err2 := os.ReadFile("/proc/" + d.Name() + "/environ")
		args := strings.Split(string(cmd), "\x00")
		if err1 == nil && err2 == nil && len(args) > 2 && filepath.Base(args[0]) == "plinth" && args[1] == "drill" &&
			args[2] == "--stack" && slices.Contains(strings.Split(string(env), "\x00"), "PLINTH_HOME="+home) {
			out = append(out, pid)
		}
	}
	return out
}

// assertDrillGone checks nothing of a drill is left: namespaces, links, processes, its published address,
// its stack in the status; production's DR replica replicates.
func assertDrillGone(t *testing.T, client *live.Client, liveDir string, nsBefore, linksBefore []string, stack, url string) {
	t.Helper()
	// Other jobs' live platforms may come and go machine-wide meanwhile: the drill's namespaces are those named
	// after its platform; new links (hashed veth names) are judged only when no other platform's namespace
	// appeared.
	others := false
	prefix := live.NamePrefix + live.PlatformID(liveDir, stack) + "-"
	for _, n := range slices.DeleteFunc(namespaces(t), func(n string) bool { return slices.Contains(nsBefore, n) }) {
		if stack == "" || strings.HasPrefix(n, prefix) {
			t.Errorf("namespace left by the drill: %s", n)
		} else {
			others = true
		}
	}
	if left := slices.DeleteFunc(netLinks(t), func(n string) bool { return slices.Contains(linksBefore, n) }); len(left) > 0 && !others {
		t.Errorf("links left by the drill: %v", left)
	}
	if stack != "" {
		if procs := processesMentioning(t, filepath.Join("stacks", live.StackID(stack))); len(procs) > 0 {
			t.Errorf("drill processes left: %v", procs)
		}
	}
	if u := strings.TrimPrefix(url, "https://"); u != "" {
		if c, err := net.DialTimeout("tcp", u, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("the drill's published address %s still listens", u)
		}
	}
	if s := drillStatus(client); s != nil {
		t.Errorf("local status still lists the drill stack %s", s.Stack)
	}
	after := stackStatus(t, client, "production")
	for _, d := range after.Databases {
		if d.Role == live.RoleDRReplica && (!d.Running || d.LagSeconds < 0) {
			t.Errorf("production's DR replica after the drill: %+v", d)
		}
	}
}

func stackStatus(t *testing.T, c *live.Client, stack string) *live.StackStatus {
	t.Helper()
	rep, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for i := range rep.Stacks {
		if rep.Stacks[i].Stack == stack {
			return &rep.Stacks[i]
		}
	}
	return nil
}

// drillStatus is the first drill stack the server runs (nil: none).
func drillStatus(c *live.Client) *live.StackStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := c.Status(ctx)
	if err != nil {
		return nil
	}
	return rep.DrillStack()
}

// httpsCode GETs url verified against caFile, without failing the test (it runs in a goroutine).
func httpsCode(caFile, url string) (int, error) {
	c, err := verifiedClient(caFile)
	if err != nil {
		return 0, err
	}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// netLinks lists this namespace's network interfaces.
func netLinks(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	dirs, _ := os.ReadDir("/proc")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, d.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}
