// Command drill benchmarks the DR drill on the live local cloud (`make bench-drill`; root; run it under flock
// /tmp/plinth-live.lock: it creates network namespaces). From an empty plinth home it brings production up,
// deploys the sample service to its app tier (the drill's preflight needs production's release from its deploy
// audit and escrow), then runs `plinth drill --stack production --cloud local -o json` in each mode asked for,
// `-rounds` times, while a prober asks production's URL every 250 ms. Per drill it prints the measured RTO and
// RPO against the targets, each step's seconds and share of the drill, and checks the teardown left nothing:
// 0 resources (the report's leftBehind), 0 drill processes, 0 namespaces of the drill's platform, the drill's published
// address closed, `local status` without the drill stack, production's DR replica still replicating.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/tlsx"
)

// Targets on the 2-core machine (issue 13's Measure).
const (
	replicaRTOTarget = 5 * time.Minute
	backupRTOTarget  = 10 * time.Minute
	rpoTarget        = 5 * time.Second
)

func main() {
	rounds := flag.Int("rounds", 1, "drills per mode")
	modes := flag.String("modes", "replica", "comma-separated drill sources: replica, backup")
	dataMB := flag.Int("data-mb", 0, "MB of generated tables loaded into production's primary before the backup a backup drill restores (0: production's own data)")
	flag.Parse()
	if err := bench(*rounds, strings.Split(*modes, ","), *dataMB); err != nil {
		fmt.Fprintln(os.Stderr, "bench-drill:", err)
		os.Exit(1)
	}
}

// env is one plinth home and how to run the binary in it.
type env struct {
	home, project, plinth string
	vars                  []string
}

func (e env) run(args ...string) ([]byte, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.plinth, args...)
	var stdout, stderr strings.Builder
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = e.vars, e.project, &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("plinth %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return []byte(stdout.String()), []byte(stderr.String()), err
}

func bench(rounds int, modes []string, dataMB int) error {
	if err := live.Check(); err != nil {
		return err
	}
	for _, m := range modes {
		if m != drill.SourceReplica && m != drill.SourceBackup {
			return fmt.Errorf("-modes: %q is neither replica nor backup", m)
		}
	}
	plinth, err := filepath.Abs(envOr("PLINTH", "bin/plinth"))
	if err != nil {
		return err
	}
	pulumi, err := filepath.Abs(envOr("PLINTH_PULUMI", "bin/pulumi"))
	if err != nil {
		return err
	}
	project, err := os.Getwd()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plinth-bench-drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	e := env{home: filepath.Join(work, "home"), project: project, plinth: plinth}
	e.vars = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PLINTH_HOME=" + e.home,
		"PULUMI_HOME=" + filepath.Join(work, "pulumi-home"), "PLINTH_PULUMI=" + pulumi, "PLINTH_CLOUD=local",
		"PULUMI_CONFIG_PASSPHRASE=bench", "PLINTH_PROJECT_DIR=" + project, "CI=1", "AWS_EC2_METADATA_DISABLED=true"}
	defer func() { _, _, _ = e.run("local", "stop") }()

	svc := filepath.Join(work, "webservice")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=drill-bench", "-o", svc, "./examples/webservice")
	build.Dir = project
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build webservice: %w: %s", err, out)
	}
	start := time.Now()
	if _, _, err := e.run("up", "--stack", "production", "--cloud", "local", "--override-promotion", "bench-drill from empty"); err != nil {
		return err
	}
	defer func() { // production's vault bucket is protected against destroy; everything live is gone by then
		if _, _, err := e.run("destroy", "--stack", "production", "--cloud", "local", "--yes"); err != nil &&
			!strings.Contains(err.Error(), "because it is protected") {
			fmt.Fprintln(os.Stderr, "bench-drill: destroy production:", err)
		}
	}()
	if _, _, err := e.run("deploy", "--stack", "production", "--cloud", "local", "--tier", "app", "--artifact", svc,
		"--version", "drill-bench", "-m", "bench-drill"); err != nil {
		return err
	}
	fmt.Printf("production up and deployed in %.1f s\n", time.Since(start).Seconds())
	client := live.NewClient(live.SocketPath(filepath.Join(e.home, "live")))
	prod, err := stackStatus(client, "production")
	if err != nil {
		return err
	}
	var failures []error
	var vb *vaultBackup
	for _, mode := range modes {
		if mode == drill.SourceBackup && vb == nil { // after the replica drills: their DR replica has no bulk load
			b, err := prepareBackup(e, client, work, dataMB)
			if err != nil {
				return errors.Join(append(failures, fmt.Errorf("backup for the backup drills: %w", err))...)
			}
			vb = &b
		}
		for i := 0; i < rounds; i++ {
			if err := oneDrill(e, client, prod, mode, i+1, vb); err != nil {
				fmt.Printf("%s drill %d: FAILED: %v\n", mode, i+1, err)
				failures = append(failures, fmt.Errorf("%s drill %d: %w", mode, i+1, err))
			}
		}
	}
	return errors.Join(failures...)
}

// oneDrill runs one drill and checks what it left. A backup drill restores vb's backup; its RPO target is
// the backup's age at T0 (a backup is as old as it is: no drill makes it younger).
func oneDrill(e env, client *live.Client, prod *live.StackStatus, mode string, n int, vb *vaultBackup) error {
	nsBefore, linksBefore := namespaces(), links()
	probes, failed, stop, err := probe(prod)
	if err != nil {
		return err
	}
	var seenStack, seenURL string
	watchCtx, watchStop := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { // the drill stack's name and published address while it runs, to check they are gone after
		defer close(watched)
		for watchCtx.Err() == nil {
			if s := drillStatus(client); s != nil && seenURL == "" && s.URL != "" {
				seenStack, seenURL = s.Stack, s.URL
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	start := time.Now()
	args := []string{"drill", "--stack", "production", "--cloud", "local", "--source", mode, "-o", "json"}
	rpoMax, rpoWhat := rpoTarget, rpoTarget.String()
	if vb != nil && mode == drill.SourceBackup {
		args = append(args, "-i", vb.identity)
	}
	stdout, _, runErr := e.run(args...)
	wall := time.Since(start)
	if vb != nil && mode == drill.SourceBackup {
		rpoMax = time.Since(vb.started)
		rpoWhat = fmt.Sprintf("%.1fs, the backup's age when the drill ended", rpoMax.Seconds())
	}
	stop()
	watchStop()
	<-watched
	var rep drill.Report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		return errors.Join(runErr, fmt.Errorf("report: %w: %s", err, tail(string(stdout))))
	}
	target := replicaRTOTarget
	if mode == drill.SourceBackup {
		target = backupRTOTarget
	}
	fmt.Printf("\n%s drill %d (%s): verdict %s, wall %.1f s\n", mode, n, rep.ID, rep.Verdict, wall.Seconds())
	fmt.Printf("  RTO %s (target < %s)   RPO %s (target <= %s)", secs(rep.RTOSeconds), target, secs(rep.RPOSeconds), rpoWhat)
	if rep.RPO != nil {
		fmt.Printf("   GTID at T0 %s, recovered %s", rep.RPO.PrimaryGTID, rep.RPO.RecoveredGTID)
	}
	fmt.Println()
	total := 0.0
	for _, s := range rep.Steps {
		total += s.Seconds
	}
	fmt.Printf("  %-10s %9s %7s  %s\n", "step", "seconds", "share", "status")
	for _, s := range rep.Steps {
		share := 0.0
		if total > 0 {
			share = 100 * s.Seconds / total
		}
		fmt.Printf("  %-10s %9.2f %6.1f%%  %s\n", s.Name, s.Seconds, share, s.Status)
	}
	var problems []error
	if runErr != nil || rep.Verdict != drill.VerdictMet {
		problems = append(problems, fmt.Errorf("verdict %s: %v", rep.Verdict, runErr))
	}
	if rep.RTOSeconds == nil || *rep.RTOSeconds >= target.Seconds() {
		problems = append(problems, fmt.Errorf("RTO %s: target < %s", secs(rep.RTOSeconds), target))
	}
	if rep.RPOSeconds == nil || *rep.RPOSeconds > rpoMax.Seconds() {
		problems = append(problems, fmt.Errorf("RPO %s: target <= %s", secs(rep.RPOSeconds), rpoWhat))
	}
	left := leftovers(client, nsBefore, linksBefore, seenStack, seenURL, e.home)
	fmt.Printf("  teardown left: %d resources, %d processes, %d namespaces, listener %v, listed %v (new links machine-wide: %d)\n",
		rep.LeftBehind, len(left.procs), len(left.ns), left.listening, left.listed, len(left.links))
	fmt.Printf("  production's URL during the drill: %d probes, %d failed; DR replica replicating after: %v\n",
		probes.Load(), failed.Load(), left.drReplicating)
	if rep.LeftBehind != 0 || len(left.procs)+len(left.ns) > 0 || left.listening || left.listed {
		problems = append(problems, fmt.Errorf("teardown left %d resources %v, processes %v, namespaces %v, listener %v, listed %v",
			rep.LeftBehind, rep.LeftBehindList, left.procs, left.ns, left.listening, left.listed))
	}
	if failed.Load() > 0 || probes.Load() == 0 {
		problems = append(problems, fmt.Errorf("production's URL failed %d of %d probes", failed.Load(), probes.Load()))
	}
	if !left.drReplicating {
		problems = append(problems, errors.New("production's DR replica does not replicate after the drill"))
	}
	return errors.Join(problems...)
}

// probe asks production's URL every 250 ms until stop is called.
func probe(prod *live.StackStatus) (probes, failed *atomic.Int64, stop func(), err error) {
	c, err := httpsClient(prod.CAFile)
	if err != nil {
		return nil, nil, nil, err
	}
	probes, failed = new(atomic.Int64), new(atomic.Int64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			probes.Add(1)
			resp, err := c.Get(prod.URL + "/health")
			if err != nil || resp.StatusCode >= 500 {
				failed.Add(1)
			}
			if err == nil {
				_ = resp.Body.Close()
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	return probes, failed, func() { cancel(); wg.Wait() }, nil
}

type left struct {
	ns, links, procs []string
	listening        bool // the drill's published address still accepts connections
	listed           bool // `local status` still lists a drill stack
	drReplicating    bool
}

func leftovers(client *live.Client, nsBefore, linksBefore []string, stack, url, home string) left {
	var l left
	// The drill platform's namespaces are named after it; links (veth names are hashed) are counted
	// machine-wide, so other jobs' live platforms show there: reported, not judged.
	l.links = slices.DeleteFunc(links(), func(n string) bool { return slices.Contains(linksBefore, n) })
	if stack != "" {
		prefix := live.NamePrefix + live.PlatformID(filepath.Join(home, "live"), stack) + "-"
		l.ns = slices.DeleteFunc(namespaces(), func(n string) bool { return slices.Contains(nsBefore, n) || !strings.HasPrefix(n, prefix) })
		l.procs = processesMentioning(filepath.Join("stacks", live.StackID(stack)))
	}
	if u := strings.TrimPrefix(url, "https://"); u != "" {
		if c, err := net.DialTimeout("tcp", u, time.Second); err == nil {
			_ = c.Close()
			l.listening = true
		}
	}
	l.listed = drillStatus(client) != nil
	if prod, err := stackStatus(client, "production"); err == nil {
		for _, d := range prod.Databases {
			if d.Role == live.RoleDRReplica {
				l.drReplicating = d.Running && d.LagSeconds >= 0
			}
		}
	}
	return l
}

func stackStatus(c *live.Client, stack string) (*live.StackStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("local status: %w", err)
	}
	for i := range rep.Stacks {
		if rep.Stacks[i].Stack == stack {
			return &rep.Stacks[i], nil
		}
	}
	return nil, fmt.Errorf("local status lists no %s", stack)
}

func drillStatus(c *live.Client) *live.StackStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := c.Status(ctx)
	if err != nil {
		return nil
	}
	return rep.DrillStack()
}

func httpsClient(caFile string) (*http.Client, error) {
	pool, err := tlsx.CAPool(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

func namespaces() []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func links() []string {
	entries, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func processesMentioning(s string) []string {
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

func secs(v *float64) string {
	if v == nil {
		return "not measured"
	}
	return fmt.Sprintf("%.2f s", *v)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func tail(s string) string {
	if len(s) > 1500 {
		s = s[len(s)-1500:]
	}
	return s
}
