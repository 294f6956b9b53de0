// Package deploybench measures plinth's rolling deploy against the sequential `scp` + `ssh restart` loop
// it replaces, over the same real sshd hosts on loopback, in the same run. Each host count runs several
// rounds, baseline and plinth alternating (a new artifact each round), and compares their medians: a
// 2-core machine shared with other work drifts by tens of percent within a minute, and alternating
// spreads that drift over both sides. `make bench-deploy` runs it; its last line is
// `deploy_speedup_vs_scp=<ratio of medians at 12 hosts> redeploy_bytes=<n>`.
package deploybench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

const artifactSize = 50 << 20

type result struct {
	hosts              int
	baselines, plinths []time.Duration // one per round
	baseline, plinth   time.Duration   // medians
	sent, redeploy     int64
	minHealthy, total  int
	stage, switching   time.Duration // of the median plinth round
}

// BenchmarkDeployVsScp prints one line per host count and the summary line last.
func BenchmarkDeployVsScp(b *testing.B) {
	b.StopTimer()
	rounds := 5
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 {
			b.Fatalf("BENCH_ROUNDS=%q: want a positive number", v)
		}
		rounds = k
	}
	// v0 is the warm-up release; each round deploys a new one.
	var artifacts []string
	for i := 0; i <= rounds; i++ {
		artifacts = append(artifacts, padWithBinaries(b, deploytest.BuildApp(b, "v"+strconv.Itoa(i), true, 0)))
	}
	var last result
	counts := []int{4, 12}
	if v := os.Getenv("BENCH_HOSTS"); v != "" { // e.g. BENCH_HOSTS=4 while iterating
		k, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		counts = []int{k}
	}
	for _, n := range counts {
		r := run(b, n, artifacts)
		fmt.Printf("hosts=%d artifact=%dMiB rounds=%d scp_loop=%.2fs [%s] plinth=%.2fs [%s] (stage %.2fs, switch %.2fs) speedup=%.2fx plinth_sent=%dMiB redeploy_bytes=%d min_healthy=%d/%d\n",
			r.hosts, artifactSize>>20, len(r.plinths), r.baseline.Seconds(), seconds(r.baselines), r.plinth.Seconds(), seconds(r.plinths),
			r.stage.Seconds(), r.switching.Seconds(), r.baseline.Seconds()/r.plinth.Seconds(), r.sent>>20, r.redeploy, r.minHealthy, r.total)
		last = r
	}
	fmt.Printf("deploy_speedup_vs_scp=%.2f redeploy_bytes=%d\n", last.baseline.Seconds()/last.plinth.Seconds(), last.redeploy)
}

// padWithBinaries copies app and pads it to 50 MiB with real machine code (the Go toolchain's own
// binaries), so the artifact compresses like a real application binary rather than like random bytes.
func padWithBinaries(b *testing.B, app string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "app")
	dst, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	src, err := os.Open(app)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(dst, src)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	tools, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH, "*"))
	tools = append(tools, filepath.Join(runtime.GOROOT(), "bin", "go"))
	for n < artifactSize {
		for _, tool := range tools {
			f, err := os.Open(tool)
			if err != nil {
				continue
			}
			k, err := io.CopyN(dst, f, artifactSize-n)
			f.Close()
			n += k
			if n >= artifactSize {
				break
			}
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
	if err := os.Chmod(out, 0o755); err != nil {
		b.Fatal(err)
	}
	return out
}

func seconds(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(out, " ")
}

// median of ds (the lower middle of an even count) and its index in ds.
func median(ds []time.Duration) (time.Duration, int) {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	m := sorted[(len(sorted)-1)/2]
	return m, slices.Index(ds, m)
}

// run deploys artifacts[0] as the warm-up, then each later artifact in a round: the baseline loop, then
// plinth, timed; then plinth once more with the last artifact (the 0-byte re-deploy).
func run(b *testing.B, n int, artifacts []string) result {
	dir := b.TempDir()
	keys := sshdtest.NewKeys(b, dir)
	known := filepath.Join(dir, "known_hosts")
	bastion := sshdtest.Start(b, "bastion", sshdtest.Options{Authorized: keys.Authorized})
	servers := []*sshdtest.Server{bastion}
	tier := &inventory.Tier{Name: "app"}
	var ports, basePorts []int
	for i := 1; i <= n; i++ {
		s := sshdtest.Start(b, "app-"+strconv.Itoa(i), sshdtest.Options{Authorized: keys.Authorized})
		servers = append(servers, s)
		port, basePort := sshdtest.ServicePort(b), sshdtest.ServicePort(b)
		ports, basePorts = append(ports, port), append(basePorts, basePort)
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: s.Name, Address: s.Addr, User: "root", Root: s.Root, Port: port})
		root := s.Root
		b.Cleanup(func() { deploytest.StopApp(root); deploytest.StopApp(root + "-scp") })
	}
	sshdtest.WriteKnownHosts(b, known, servers...)
	inv := &inventory.Inventory{Stack: "bench", User: "root", Tiers: map[string]*inventory.Tier{"app": tier},
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: bastion.Addr, User: "root"},
			Direct: true, StateDir: filepath.Join(bastion.Dir, "state")}}
	if err := inv.Normalize(); err != nil {
		b.Fatal(err)
	}
	cfg := deploytest.TierConfig()
	cfg.Health.Interval = 20 * time.Millisecond
	cfg.Health.Retries = 250 // 5 s for a service to come up on a busy machine
	ctx := context.Background()
	// On loopback bandwidth is free and raw is fastest; over real networks the default (zstd when the
	// host has it) sends 2.6x fewer bytes of this artifact. BENCH_COMPRESS=zstd measures that path here.
	compress := "none"
	if v := os.Getenv("BENCH_COMPRESS"); v != "" {
		compress = v
	}

	var stageEnd, switchEnd time.Time
	verbose := os.Getenv("BENCH_VERBOSE") != ""
	emit := func(ev deploy.Event) {
		if verbose && ev.Status == deploy.StatusOK {
			fmt.Printf("  %s %s %s %dms\n", ev.Phase, ev.Host, ev.Step, time.Duration(ev.Elapsed).Milliseconds())
		}
		switch {
		case ev.Phase == deploy.PhaseStage && ev.Status == deploy.StatusOK:
			stageEnd = ev.Time
		case ev.Phase == deploy.PhaseSwitch && ev.Status == deploy.StatusOK:
			switchEnd = ev.Time
		}
	}
	deployOnce := func(path, version string) (*deploy.Outcome, time.Duration) {
		r, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{keys.PrivatePath}, Compress: compress})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		start := time.Now()
		rel := deploytest.Release(b, path, version)
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		s := &deploy.Session{State: deploy.State{Runner: r, Host: inv.Bastion.Host, Dir: inv.Bastion.StateDir},
			Exec: &deploy.Executor{Runner: r, Emit: emit}, Holder: "bench", Action: "deploy"}
		outs, err := s.Run(ctx, []*deploy.Plan{p})
		if err != nil {
			b.Fatal(err)
		}
		return outs[0], time.Since(start)
	}

	// Warm-up: every host runs v0 under plinth, and under the baseline's own root and port.
	deployOnce(artifacts[0], "v0")
	scpLoop(b, servers[1:], keys.PrivatePath, known, artifacts[0], basePorts)

	res := result{hosts: n, total: n, minHealthy: n}
	var stages, switches []time.Duration
	for i := 1; i < len(artifacts); i++ {
		version := "v" + strconv.Itoa(i)
		// Baseline: sequential scp + ssh restart, host after host. Every timed run starts with no dirty
		// pages left by the runs before it: writing them back would steal the CPU from whichever side
		// happened to run when the kernel's flusher woke up.
		syscall.Sync()
		t0 := time.Now()
		scpLoop(b, servers[1:], keys.PrivatePath, known, artifacts[i], basePorts)
		res.baselines = append(res.baselines, time.Since(t0))

		// plinth: full rolling deploy (lock, audit, parallel staging, batches with health checks, prune),
		// watched by a prober.
		syscall.Sync()
		prober := deploytest.StartProber(100*time.Millisecond, ports, "v"+strconv.Itoa(i-1), version)
		start := time.Now()
		out, took := deployOnce(artifacts[i], version)
		minHealthy, _, _ := prober.Stop()
		res.plinths = append(res.plinths, took)
		stages, switches = append(stages, stageEnd.Sub(start)), append(switches, switchEnd.Sub(stageEnd))
		res.minHealthy = min(res.minHealthy, minHealthy)
		res.sent = out.BytesSent
		if verbose {
			fmt.Printf("  round %d: scp_loop %.2fs, plinth %.2fs (stage %.2fs, switch %.2fs)\n", i, res.baselines[i-1].Seconds(),
				took.Seconds(), stages[i-1].Seconds(), switches[i-1].Seconds())
		}
	}
	var at int
	res.baseline, _ = median(res.baselines)
	res.plinth, at = median(res.plinths)
	res.stage, res.switching = stages[at], switches[at]
	last := len(artifacts) - 1
	again, _ := deployOnce(artifacts[last], "v"+strconv.Itoa(last))
	res.redeploy = again.BytesSent
	return res
}

// scpLoop is what plinth replaces: for each host in turn, scp the binary, then ssh to swap it in and
// restart the service.
func scpLoop(b *testing.B, hosts []*sshdtest.Server, key, known, artifact string, ports []int) {
	b.Helper()
	opts := []string{"-i", key, "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"}
	for i, s := range hosts {
		root := s.Root + "-scp"
		port := strconv.Itoa(s.Port)
		scp := exec.Command("scp", append(append([]string{"-q", "-P", port}, opts...), artifact, "root@127.0.0.1:"+s.Root+"-app.new")...)
		if out, err := scp.CombinedOutput(); err != nil {
			b.Fatalf("scp %s: %v\n%s", s.Name, err, out)
		}
		remote := fmt.Sprintf("mkdir -p %s/current && mv %s-app.new %s/current/app && sh %s %s %d", root, s.Root, root, deploytest.RestartScript(), root, ports[i])
		ssh := exec.Command("ssh", append(append([]string{"-p", port}, opts...), "root@127.0.0.1", remote)...)
		if out, err := ssh.CombinedOutput(); err != nil {
			b.Fatalf("ssh %s: %v\n%s", s.Name, err, out)
		}
	}
}
