// Command local benchmarks the live local cloud (`make bench-local`, run it under flock
// /tmp/plinth-live.lock: it creates network namespaces): for staging and production, from an empty plinth
// home, the wall time of `plinth up --stack S --cloud local` until the published URL answers over verified
// TLS, hosts per second, the whole platform's resident memory (the live server and every process below it),
// and on production a rolling deploy of the sample service to the app tier with the deploy engine through
// the published bastion while a prober counts failed requests through the published 443. Several rounds;
// medians. Each round ends with a destroy that must leave no namespace of the platform.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/proctree"
	"github.com/plinth-dev/plinth/internal/sshx"
)

type status struct {
	Stacks []struct {
		Stack   string `json:"stack"`
		URL     string `json:"url"`
		CAFile  string `json:"caFile"`
		Bastion string `json:"bastion"`
		Hosts   []struct {
			Name    string `json:"name"`
			Tier    string `json:"tier"`
			Address string `json:"address"`
			State   string `json:"state"`
		} `json:"hosts"`
	} `json:"stacks"`
}

type round struct {
	up       time.Duration // up until the URL answers
	hosts    int
	rssKiB   int
	requests int // production: through the published 443 during the rolling deploy
	failed   int
	deploy   time.Duration
}

func main() {
	rounds := flag.Int("rounds", 3, "rounds per stack")
	flag.Parse()
	if err := bench(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench-local:", err)
		os.Exit(1)
	}
}

func bench(rounds int) error {
	if err := live.Check(); err != nil {
		return err
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
	work, err := os.MkdirTemp("", "plinth-bench-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	v1, err := buildService(work, "v1")
	if err != nil {
		return err
	}
	v2, err := buildService(work, "v2")
	if err != nil {
		return err
	}
	results := map[string][]round{}
	for i := 0; i < rounds; i++ {
		for _, stack := range []string{"staging", "production"} {
			r, err := oneRound(work, fmt.Sprintf("%s-%d", stack, i), plinth, pulumi, project, stack, v1, v2)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", stack, i+1, err)
			}
			fmt.Printf("round %d %-10s up->URL %6.2f s  %2d hosts  %6.2f hosts/s  RSS %5d MiB", i+1, stack, r.up.Seconds(), r.hosts,
				float64(r.hosts)/r.up.Seconds(), r.rssKiB/1024)
			if stack == "production" {
				fmt.Printf("  rolling deploy %5.2f s: %d requests, %d failed", r.deploy.Seconds(), r.requests, r.failed)
			}
			fmt.Println()
			results[stack] = append(results[stack], r)
		}
	}
	fmt.Printf("\nmedians of %d rounds            up->URL (s)  hosts  hosts/s  RSS (MiB)  target\n", rounds)
	for _, stack := range []string{"staging", "production"} {
		rs := results[stack]
		up := median(rs, func(r round) float64 { return r.up.Seconds() })
		rss := median(rs, func(r round) float64 { return float64(r.rssKiB) / 1024 })
		target := "< 30 s, < 512 MiB"
		if stack == "production" {
			target = "< 90 s, < 1536 MiB"
		}
		fmt.Printf("%-32s %10.2f  %5d  %7.2f  %9.0f  %s\n", stack, up, rs[0].hosts, float64(rs[0].hosts)/up, rss, target)
	}
	failed, requests := 0, 0
	for _, r := range results["production"] {
		failed += r.failed
		requests += r.requests
	}
	fmt.Printf("production rolling deploys: %d requests through the published 443, %d failed (target 0); median deploy %.2f s\n",
		requests, failed, median(results["production"], func(r round) float64 { return r.deploy.Seconds() }))
	return nil
}

func oneRound(work, name, plinth, pulumi, project, stack, v1, v2 string) (round, error) {
	var r round
	home := filepath.Join(work, name)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PLINTH_HOME=" + home,
		"PULUMI_HOME=" + filepath.Join(home, "pulumi-home"), "PLINTH_PULUMI=" + pulumi, "PLINTH_CLOUD=local",
		"PULUMI_CONFIG_PASSPHRASE=bench", "PLINTH_PROJECT_DIR=" + project, "CI=1"}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, plinth, args...)
		cmd.Env, cmd.Dir = env, project
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("plinth %s: %v: %s", strings.Join(args, " "), err, tail(out))
		}
		return string(out), nil
	}
	destroy := func() error {
		_, err := run("destroy", "--stack", stack, "--cloud", "local", "--yes")
		if err != nil && strings.Contains(err.Error(), "because it is protected") {
			// production's backup vault bucket is protected against destroy; everything live is gone by then.
			err = nil
		}
		if pid, perr := os.ReadFile(filepath.Join(home, "live", "live.pid")); perr == nil {
			err = errors.Join(err, fmt.Errorf("the live server (pid %s) still runs after destroy", strings.TrimSpace(string(pid))))
		}
		if left := namespaces(live.PlatformID(filepath.Join(home, "live"), stack)); len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("destroy left namespaces %v", left))
		}
		return err
	}
	start := time.Now()
	upArgs := []string{"up", "--stack", stack, "--cloud", "local"}
	if stack == "production" { // from an empty home preproduction was never applied: the promotion gate
		upArgs = append(upArgs, "--override-promotion", "bench-local from empty")
	}
	if _, err := run(upArgs...); err != nil {
		_, _ = run("local", "stop")
		return r, err
	}
	out, err := run("local", "status", "--stack", stack, "-o", "json")
	if err != nil {
		return r, errors.Join(err, destroy())
	}
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Stacks) != 1 {
		return r, errors.Join(fmt.Errorf("status: %v: %s", err, out), destroy())
	}
	s := st.Stacks[0]
	client, err := httpsClient(s.CAFile)
	if err != nil {
		return r, errors.Join(err, destroy())
	}
	if err := until(60*time.Second, func() bool { // any answer over verified TLS: 503 until a release runs
		resp, err := client.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}); err != nil {
		return r, errors.Join(fmt.Errorf("%s does not answer: %w", s.URL, err), destroy())
	}
	r.up, r.hosts = time.Since(start), len(s.Hosts)
	r.rssKiB = platformRSS(filepath.Join(home, "live", "live.pid"))
	if stack == "production" {
		addrs := map[string]string{}
		for _, h := range s.Hosts {
			addrs[h.Name] = h.Address
		}
		if err := rollingDeploy(&r, home, stack, s.Bastion, s.URL, client, hostsOf(s.Hosts), addrs, v1, v2); err != nil {
			return r, errors.Join(err, destroy())
		}
	}
	return r, destroy()
}

type appHost struct{ name, address string }

func hostsOf(hosts []struct {
	Name    string `json:"name"`
	Tier    string `json:"tier"`
	Address string `json:"address"`
	State   string `json:"state"`
}) []appHost {
	var out []appHost
	for _, h := range hosts {
		if h.Tier == "app" {
			out = append(out, appHost{h.Name, h.Address})
		}
	}
	return out
}

// rollingDeploy deploys v1 to the app tier (its first release), waits until the URL serves it, then rolls
// v2 with the deploy engine's default tier config while a prober requests /health through the published 443.
func rollingDeploy(r *round, home, stack, bastion, url string, client *http.Client, hosts []appHost, addrs map[string]string, v1, v2 string) error {
	data, err := os.ReadFile(filepath.Join("environments", "Pulumi."+stack+".yaml"))
	if err != nil {
		return err
	}
	spec, err := environments.LoadFile(stack, data)
	if err != nil {
		return err
	}
	user := spec.Bastion.SSHUser
	svc := userdata.Service{Tier: "app", User: user, Port: spec.Tiers.App.Port}
	liveDir := filepath.Join(home, "live")
	known := filepath.Join(home, "known_hosts")
	if err := writeKnownHosts(known, filepath.Join(liveDir, "stacks", live.StackID(stack), "hosts"), bastion, addrs); err != nil {
		return err
	}
	tier := &inventory.Tier{Name: "app"}
	for _, h := range hosts {
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: h.name, Address: net.JoinHostPort(h.address, "22"), User: user,
			Root: svc.Root(), Port: svc.Port})
	}
	inv := &inventory.Inventory{Stack: stack, User: user,
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: bastion, User: user}, StateDir: "/home/" + user + "/plinth-state"},
		Tiers:   map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		return err
	}
	b := inv.Bastion.Host
	runner, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{filepath.Join(liveDir, "operator_ed25519")},
		Bastion: &b, KeepAlive: time.Second, DialTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer runner.Close()
	cfg := (&deploy.Config{Tiers: map[string]deploy.TierConfig{"app": {Health: deploy.HealthConfig{Retries: 200, Interval: 100 * time.Millisecond}}}}).Tier("app")
	roll := func(path, version string) error {
		rel, err := release(path, version)
		if err != nil {
			return err
		}
		plan, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
		if err != nil {
			return err
		}
		_, err = (&deploy.Executor{Runner: runner}).Execute(context.Background(), plan)
		return err
	}
	if err := roll(v1, "v1"); err != nil {
		return fmt.Errorf("deploy v1: %w", err)
	}
	serves := func(version string) bool {
		resp, err := client.Get(url + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Version string }
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode == http.StatusOK && h.Version == version
	}
	// Every target healthy before the roll: a few checks in a row.
	if err := until(60*time.Second, func() bool { return serves("v1") && serves("v1") && serves("v1") }); err != nil {
		return fmt.Errorf("v1 is not served: %w", err)
	}
	var n, bad atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n.Add(1)
			resp, err := client.Get(url + "/health")
			if err != nil {
				bad.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				bad.Add(1)
			}
		}
	}()
	start := time.Now()
	err = roll(v2, "v2")
	r.deploy = time.Since(start)
	close(quit)
	<-done
	r.requests, r.failed = int(n.Load()), int(bad.Load())
	if err != nil {
		return fmt.Errorf("deploy v2: %w", err)
	}
	if err := until(30*time.Second, func() bool { return serves("v2") }); err != nil {
		return fmt.Errorf("v2 is not served: %w", err)
	}
	return nil
}

// writeKnownHosts writes each host's key (read from the live cloud's host directory: the key its sshd
// presents) for its address (addrs, from the status), and the bastion's for its published address too.
func writeKnownHosts(path, hostsDir, bastion string, addrs map[string]string) error {
	var lines []string
	for _, name := range sortedNames(addrs) {
		b, err := os.ReadFile(filepath.Join(hostsDir, name, "ssh", "ssh_host_ed25519_key"))
		if errors.Is(err, os.ErrNotExist) {
			continue // no sshd (a managed service's node)
		}
		if err != nil {
			return err
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("host %s: %w", name, err)
		}
		hosts := []string{addrs[name]}
		if strings.HasPrefix(name, "bastion") {
			hosts = append(hosts, knownhosts.Normalize(bastion))
		}
		lines = append(lines, knownhosts.Line(hosts, signer.PublicKey()))
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func release(path, version string) (deploy.Release, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return deploy.Release{}, err
	}
	return deploy.Release{Version: version, Artifact: path, SHA256: fmt.Sprintf("%x", sha256.Sum256(b)), Size: int64(len(b)), CreatedAt: time.Now()}, nil
}

func buildService(dir, version string) (string, error) {
	out := filepath.Join(dir, "webservice-"+version)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, "./examples/webservice")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build webservice: %v: %s", err, b)
	}
	return out, nil
}

func httpsClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// platformRSS sums VmRSS of the live server (its pid file) and every process below it.
func platformRSS(pidFile string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	total := 0
	for _, p := range append([]int{pid}, proctree.Descendants(pid)...) {
		s, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(s), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				total += n
			}
		}
	}
	return total
}

func namespaces(id string) []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), live.NamePrefix+id+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func until(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func median(rs []round, f func(round) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func tail(b []byte) string {
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return string(b)
}
