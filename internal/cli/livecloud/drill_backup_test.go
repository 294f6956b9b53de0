package livecloud_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// productionDeployed brings production up on the live local cloud from an empty home and deploys the
// sample service (built as version) to its app tier, as `make run` does for staging: a drill's preflight
// needs production's release from its deploy audit, kept in the escrow. It returns the plinth runner.
func productionDeployed(t *testing.T, root, home, version string) func(args ...string) ([]byte, []byte, error) {
	t.Helper()
	run := plinthRunner(t, root, root, home, "PLINTH_LOCAL_LIVE=1")
	start := time.Now()
	// From an empty home preproduction was never applied: the promotion gate is overridden.
	if _, stderr, err := run("up", "--stack", "production", "--cloud", "local", "--override-promotion", "drill live test from empty"); err != nil {
		t.Fatalf("up production: %v\n%s", err, tailOf(stderr))
	}
	t.Cleanup(func() {
		// production's vault bucket is protected against destroy; everything live is gone by then.
		if _, stderr, err := run("destroy", "--stack", "production", "--cloud", "local", "--yes"); err != nil &&
			!strings.Contains(string(stderr), "because it is protected") {
			t.Errorf("destroy production: %v\n%s", err, tailOf(stderr))
		}
	})
	svc := filepath.Join(t.TempDir(), "webservice")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", svc, "./examples/webservice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build webservice: %v\n%s", err, out)
	}
	if _, stderr, err := run("deploy", "--stack", "production", "--cloud", "local", "--tier", "app", "--artifact", svc,
		"--version", version, "-m", "drill live test"); err != nil {
		t.Fatalf("deploy production: %v\n%s", err, tailOf(stderr))
	}
	t.Logf("production up and deployed: %s", time.Since(start).Round(time.Second))
	return run
}

// productionWithBackup is productionDeployed, then a backup taken the way an operator does: `backup
// keygen` (the restore identity), `backup grant`, `backup run --stack production -r <recipient>` into the
// live vault and `backup verify latest` (which marks it verified, as the vault's writer identity: a backup
// drill's default source). It returns the runner and the restore identity's file.
func productionWithBackup(t *testing.T, root, home string) (func(args ...string) ([]byte, []byte, error), string) {
	t.Helper()
	run := productionDeployed(t, root, home, "drill-backup-v1")
	must := func(what string, args ...string) string {
		t.Helper()
		out, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, tailOf(stderr))
		}
		return string(out)
	}
	key := filepath.Join(t.TempDir(), "restore.key")
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(must("keygen", "backup", "keygen", "--out", key))
	if recipient == "" {
		t.Fatal("backup keygen printed no recipient")
	}
	must("backup grant", "backup", "grant", "--stack", "production")
	start := time.Now()
	must("backup run", "backup", "run", "--stack", "production", "-r", recipient, "-q")
	must("backup verify", "backup", "verify", "latest", "-i", key, "--stack", "production", "-q")
	t.Logf("backup run and verified: %s", time.Since(start).Round(time.Second))
	return run, key
}

// TestDrillBackupLive runs `plinth drill --stack production --cloud local --source backup -o json` on the
// live local cloud (the real binary and engine) after a verified backup of production: preflight (the
// primary, the DR replica reported, the newest verified backup), t0 (heartbeats on the primary), data (the
// server's drill-db started empty and writable in production's DR data subnet, the backup restored into it
// with the restore identity, every table's rows and hash checked against the manifest, production's
// application user created on it), platform, deploy, verify (through the drill's published HTTPS address),
// report (RTO and RPO measured: the RPO is the backup's age at T0, GTIDs compared) and teardown, which leaves
// no drill namespace, process, link or listener, while production's URL answered throughout and its DR
// replica still replicates. Then a kept backup drill is torn down twice by `plinth drill teardown ID`.
func TestDrillBackupLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "production")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	run, key := productionWithBackup(t, root, home)
	backupDone := time.Now()
	client := live.NewClient(live.SocketPath(filepath.Join(home, "live")))
	prod := stackStatus(t, client, "production")
	if prod == nil || prod.URL == "" {
		t.Fatalf("production has no live URL")
	}
	nsBefore, linksBefore := namespaces(t), netLinks(t)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var probes, failed atomic.Int64
	var seenMu sync.Mutex
	var seenStack, seenURL, drillDB string
	wg.Add(2)
	go func() { // production keeps serving: its URL through the published 443, every 250 ms
		defer wg.Done()
		probeProduction(ctx, prod, &probes, &failed)
	}()
	go func() { // the drill stack and its drill-db as `local status` lists them
		defer wg.Done()
		for ctx.Err() == nil {
			if s := drillStatus(client); s != nil {
				seenMu.Lock()
				if seenStack == "" || seenURL == "" {
					seenStack, seenURL = s.Stack, s.URL
				}
				for _, h := range s.Hosts {
					if h.Name == "drill-db" && h.State == "running" {
						drillDB = h.Address
					}
				}
				seenMu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	start := time.Now()
	stdout, stderr, runErr := run("drill", "--stack", "production", "--cloud", "local", "--source", "backup", "-i", key, "-o", "json")
	stop()
	wg.Wait()
	t.Logf("backup drill: %s, exit %v\n%s", time.Since(start).Round(time.Second), runErr, tailOf(stderr))

	rep := drillReport(t, stdout)
	if runErr != nil || rep.Verdict != drill.VerdictMet || rep.Source != drill.SourceBackup {
		t.Errorf("source %s verdict %s, exit %v: want backup, met, exit 0", rep.Source, rep.Verdict, runErr)
	}
	// The restored tables against the backup's manifest; the drill application's write found on drill-db.
	if m := rep.Tables; m == nil || m.Tables == 0 || len(m.Mismatch) != 0 || m.Skipped != "" || !strings.Contains(m.Against, "manifest") {
		t.Errorf("tables %+v: want the restored tables matched against the manifest", m)
	}
	if rep.Verify == nil || rep.Verify.DatabaseWrite == nil || rep.Verify.DatabaseWrite.Check() != nil {
		t.Errorf("verify %+v: want the application's write found on the drill database", rep.Verify)
	}
	if rep.RTOSeconds == nil || *rep.RTOSeconds <= 0 || *rep.RTOSeconds >= 600 {
		t.Errorf("RTO %v: want measured, < 10 min", rep.RTOSeconds)
	} else {
		t.Logf("measured RTO %.1f s", *rep.RTOSeconds)
	}
	// The RPO of a backup drill is the backup's age at T0: more than the time since the backup was done,
	// less than the time since it began (with a second's slack for the clocks' rounding).
	age := time.Since(backupDone).Seconds()
	if rep.RPOSeconds == nil || rep.RPO == nil || *rep.RPOSeconds <= 0 || *rep.RPOSeconds > time.Since(start).Seconds()+age+1 ||
		rep.RPO.PrimaryGTID == "" || rep.RPO.RecoveredGTID == "" {
		t.Errorf("RPO %v (%+v): want measured (the backup's age), GTIDs compared", rep.RPOSeconds, rep.RPO)
	} else {
		t.Logf("measured RPO %.1f s: %+v", *rep.RPOSeconds, *rep.RPO)
	}
	// The restore was checked table by table against the manifest, into drill-db (its in-VPC address).
	if !regexp.MustCompile(`restored into drill database 10\.31\.\d+\.\d+:3306 of production-drill-\S+: \d+ tables, \d+ rows, rows and hashes match the manifest`).Match(stderr) {
		t.Errorf("no restore check in the drill's log:\n%s", tailOf(stderr))
	}
	if rep.LeftBehind != 0 {
		t.Errorf("left behind: %d %v", rep.LeftBehind, rep.LeftBehindList)
	}
	if hist, herr, err := run("drill", "history", "--stack", "production", "-o", "json"); err != nil || !strings.Contains(string(hist), rep.ID) {
		t.Errorf("drill history has no %s: %v\n%s%s", rep.ID, err, hist, tailOf(herr))
	}
	seenMu.Lock()
	t.Logf("drill stack %s at %s, drill-db at %s", seenStack, seenURL, drillDB)
	if !strings.HasPrefix(drillDB, "10.31.") {
		t.Errorf("drill-db at %q: want a running host in production's DR VPC 10.31.0.0/16", drillDB)
	}
	seenMu.Unlock()
	assertDrillGone(t, client, filepath.Join(home, "live"), nsBefore, linksBefore, seenStack, seenURL)
	t.Logf("production's URL during the drill: %d probes, %d failed", probes.Load(), failed.Load())
	if failed.Load() > 0 || probes.Load() == 0 {
		t.Errorf("production's URL failed %d of %d probes during the drill", failed.Load(), probes.Load())
	}

	// A kept backup drill: drill-db and the drill stack stay up; `plinth drill teardown ID` removes them, twice.
	ks := keptAndTornDown(t, run, client, nil, "--source", "backup", "-i", key)
	assertDrillGone(t, client, filepath.Join(home, "live"), nsBefore, linksBefore, ks.Stack, ks.URL)
}

// drillReport is a drill's `-o json` report, each step logged; every step must be ok.
func drillReport(t *testing.T, stdout []byte) drill.Report {
	t.Helper()
	var rep drill.Report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout)
	}
	status := map[string]string{}
	for _, s := range rep.Steps {
		status[s.Name] = s.Status
		t.Logf("step %-9s %-7s %.1fs %s", s.Name, s.Status, s.Seconds, s.Error)
	}
	for _, step := range []string{"preflight", "t0", "data", "platform", "deploy", "verify", "report", "teardown"} {
		if status[step] != "ok" {
			t.Errorf("step %s: %s, want ok", step, status[step])
		}
	}
	return rep
}

// probeProduction asks production's URL (through its published 443) every 250 ms until ctx ends, counting
// the probes and the failed ones (a 503 is HAProxy's answer while a backend restarts, not a failure).
func probeProduction(ctx context.Context, prod *live.StackStatus, probes, failed *atomic.Int64) {
	for ctx.Err() == nil {
		probes.Add(1)
		if code, err := httpsCode(prod.CAFile, prod.URL+"/health"); err != nil || code >= 500 && code != 503 {
			failed.Add(1)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// keptAndTornDown runs a drill with args and --keep: it stays up (its stack live, published) until `plinth
// drill teardown ID --stack production`, run twice (idempotent), each time leaving nothing it can list. It
// returns the kept drill stack's status, for the nothing-left checks. inspect (if set) looks at the kept drill
// before its teardown.
func keptAndTornDown(t *testing.T, run func(args ...string) ([]byte, []byte, error), client *live.Client, inspect func(drill.Report, *live.StackStatus), args ...string) *live.StackStatus {
	t.Helper()
	stdout, stderr, runErr := run(append([]string{"drill", "--stack", "production", "--cloud", "local", "--keep", "-o", "json"}, args...)...)
	var kept drill.Report
	if err := json.Unmarshal(stdout, &kept); err != nil || runErr != nil || !kept.Kept {
		t.Fatalf("kept drill %v: %v %v\n%s%s", args, runErr, err, stdout, tailOf(stderr))
	}
	ks := drillStatus(client)
	if ks == nil || ks.Stack != "production-"+kept.ID || ks.URL == "" {
		t.Fatalf("the kept drill's stack is not live: %+v", ks)
	}
	if inspect != nil {
		inspect(kept, ks)
	}
	for i := 0; i < 2; i++ {
		out, errOut, err := run("drill", "teardown", kept.ID, "--stack", "production", "-o", "json")
		var res drill.TeardownResult
		if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil || len(res.Left) != 0 {
			t.Errorf("teardown %d of %s: %v %v %+v\n%s", i+1, kept.ID, err, jerr, res, tailOf(errOut))
		}
	}
	return ks
}
