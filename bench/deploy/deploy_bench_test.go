// Package deploybench measures plinth's rolling deploy against the sequential `scp` + `ssh restart` loop
// it replaces, over the same real sshd hosts on loopback, in the same run. `make bench-deploy` runs it;
// its last line is `deploy_speedup_vs_scp=<ratio at 12 hosts> redeploy_bytes=<n>`.
package deploybench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	hosts             int
	baseline, plinth  time.Duration
	sent, redeploy    int64
	minHealthy, total int
	stage, switching  time.Duration
}

// BenchmarkDeployVsScp prints one line per host count and the summary line last.
func BenchmarkDeployVsScp(b *testing.B) {
	b.StopTimer()
	v1 := deploytest.BuildApp(b, "v1", true, 0)
	v2 := deploytest.BuildApp(b, "v2", true, 0)
	v1 = padWithBinaries(b, v1)
	v2 = padWithBinaries(b, v2)
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
		r := run(b, n, v1, v2)
		fmt.Printf("hosts=%d artifact=%dMiB scp_loop=%.2fs plinth=%.2fs (stage %.2fs, switch %.2fs) speedup=%.2fx plinth_sent=%dMiB redeploy_bytes=%d min_healthy=%d/%d\n",
			r.hosts, artifactSize>>20, r.baseline.Seconds(), r.plinth.Seconds(), r.stage.Seconds(), r.switching.Seconds(),
			r.baseline.Seconds()/r.plinth.Seconds(), r.sent>>20, r.redeploy, r.minHealthy, r.total)
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

func run(b *testing.B, n int, v1path, v2path string) result {
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

	// Warm-up: every host runs v1 under plinth, and under the baseline's own root and port.
	deployOnce(v1path, "v1")
	scpLoop(b, servers[1:], keys.PrivatePath, known, v1path, basePorts)

	// Baseline: sequential scp + ssh restart, host after host.
	t0 := time.Now()
	scpLoop(b, servers[1:], keys.PrivatePath, known, v2path, basePorts)
	baseline := time.Since(t0)

	// plinth: full rolling deploy (lock, audit, parallel staging, batches with health checks, prune),
	// watched by a prober.
	prober := deploytest.StartProber(100*time.Millisecond, ports, "v1", "v2")
	start := time.Now()
	out, took := deployOnce(v2path, "v2")
	minHealthy, _, _ := prober.Stop()
	stage, switching := stageEnd.Sub(start), switchEnd.Sub(stageEnd)
	again, _ := deployOnce(v2path, "v2")
	return result{hosts: n, baseline: baseline, plinth: took, sent: out.BytesSent, redeploy: again.BytesSent,
		minHealthy: minHealthy, total: n, stage: stage, switching: switching}
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
