// Package deploytest holds what deploy's tests share: the test service (built from ./testapp), its
// restart script, a prober that watches every host's /health during a deploy, and the Runner
// conformance suite run against every deploy.Runner implementation.
package deploytest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// Dir is this package's directory (testapp/ and restart.sh live here).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// RestartScript is the path of restart.sh.
func RestartScript() string { return filepath.Join(Dir(), "restart.sh") }

// TierConfig is a tier config for the test service: restart.sh instead of systemd, logs from app.log,
// fast health checks.
func TierConfig() deploy.TierConfig {
	c := deploy.TierConfig{
		Binary:  "app",
		Restart: []string{"sh", RestartScript(), "{root}", "{port}"},
		Logs:    []string{"tail", "-n", "20", "{root}/app.log"},
		Keep:    3,
		Health:  deploy.HealthConfig{Timeout: time.Second, Retries: 200, Interval: 25 * time.Millisecond},
	}
	cfg := &deploy.Config{Tiers: map[string]deploy.TierConfig{"app": c}}
	return cfg.Tier("app")
}

var (
	buildMu sync.Mutex
	builds  = map[string]string{}
)

// BuildApp builds the test service stamped with version (healthy or not) into dir, padded with random
// bytes to at least padTo bytes (0: no padding); it returns the binary's path. Builds are cached per
// process.
func BuildApp(t testing.TB, version string, healthy bool, padTo int64) string {
	t.Helper()
	key := fmt.Sprintf("%s/%v/%d", version, healthy, padTo)
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builds[key]; ok {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	dir, err := os.MkdirTemp("", "plinth-testapp-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app")
	h := "true"
	if !healthy {
		h = "false"
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version+" -X main.healthy="+h, "-o", out, "./testapp")
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testapp %s: %v\n%s", version, err, b)
	}
	if padTo > 0 {
		if err := pad(out, padTo); err != nil {
			t.Fatal(err)
		}
	}
	builds[key] = out
	return out
}

// pad appends random bytes (ELF ignores trailing data) up to size.
func pad(path string, size int64) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size-st.Size()); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Release describes the artifact at path as version.
func Release(t testing.TB, path, version string) deploy.Release {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return deploy.Release{Version: version, Artifact: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, CreatedAt: time.Now()}
}

// StopApp kills the service started by restart.sh under root (test cleanup).
func StopApp(root string) {
	if pid := appPID(root); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// FreezeSSHDScript is a hook (sh FILE HOST TARGET, or sh -c SCRIPT sh HOST TARGET) that, when HOST is
// TARGET, stops (SIGSTOP) the sshd process serving its own connection (its nearest sshd ancestor): the hook
// ends, its exit status never arrives, keepalives go unanswered: the host hangs for that connection while
// its listener still takes new ones. The test's sshd cleanup kills the stopped process.
const FreezeSSHDScript = `[ "$1" = "$2" ] || exit 0
p=$PPID
while [ "$(cat /proc/$p/comm)" != sshd ]; do p=$(awk '/^PPid:/ {print $2}' /proc/$p/status); done
kill -STOP "$p"
`

// FreezeApp stops (SIGSTOP) the service started by restart.sh under root, like a hung process: its port
// still accepts connections and never answers. The returned func resumes it.
func FreezeApp(root string) (thaw func()) {
	pid := appPID(root)
	if pid <= 0 {
		return func() {}
	}
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	return func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
}

func appPID(root string) int {
	b, err := os.ReadFile(filepath.Join(root, "app.pid"))
	if err != nil {
		return 0
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &pid); err != nil {
		return 0
	}
	return pid
}

// Health fetches http://127.0.0.1:port/health and returns the version served ("" when down).
func Health(client *http.Client, port int) string {
	v, _ := probe(client, port)
	return v
}

// probe is Health that also says whether the answer is definitive: a timeout on a starved machine means
// the port accepted the connection (the service exists) but did not answer in time: not a verdict.
func probe(client *http.Client, port int) (version string, definitive bool) {
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false
		}
		return "", true
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", true
	}
	var v struct {
		Version string `json:"version"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return "", true
	}
	return v.Version, true
}

// sweepWindow is the longest a sweep may take and still count: its probes must describe one moment. A
// rolling deploy takes a host down only after the previous one answers again, and no sooner than an SSH
// round trip plus a few processes on the host (tens of milliseconds here); a sweep spread wider than
// that (goroutines delayed on a starved machine) could see one host before it came back and the next
// after it went down, and report two down at once when there never were.
const sweepWindow = 15 * time.Millisecond

// Prober polls every port's /health until stopped and records the fewest hosts that answered with a
// valid version in one sweep.
type Prober struct {
	ports  []int
	valid  map[string]bool
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	down   map[int]bool
	min    int
	sweeps int
	unsure int
	worst  []string
}

// StartProber starts polling all ports, pausing every between sweeps.
func StartProber(every time.Duration, ports []int, validVersions ...string) *Prober {
	p := &Prober{ports: ports, valid: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{}), min: len(ports)}
	for _, v := range validVersions {
		p.valid[v] = true
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			healthy := 0
			seen := make([]string, len(p.ports))
			sure := make([]bool, len(p.ports))
			var wg sync.WaitGroup
			start := time.Now()
			p.mu.Lock()
			down := maps.Clone(p.down)
			p.mu.Unlock()
			for i, port := range p.ports {
				if down[port] {
					seen[i], sure[i] = "(down)", true
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					seen[i], sure[i] = probe(client, port)
				}()
			}
			wg.Wait()
			if slices.Contains(sure, false) || time.Since(start) > sweepWindow {
				p.mu.Lock()
				p.unsure++
				p.mu.Unlock()
				time.Sleep(every)
				continue // a starved or spread-out sweep says nothing either way
			}
			for _, v := range seen {
				if p.valid[v] {
					healthy++
				}
			}
			p.mu.Lock()
			p.sweeps++
			if healthy < p.min {
				p.min, p.worst = healthy, seen
			}
			p.mu.Unlock()
			time.Sleep(every)
		}
	}()
	return p
}

// Down tells the prober that the service on port is hung (stopped by the test): it counts as down from
// now on without being probed. Probing it would only time out, and a sweep with a timeout says nothing.
func (p *Prober) Down(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down == nil {
		p.down = map[int]bool{}
	}
	p.down[port] = true
}

// Stop ends polling and returns the fewest healthy hosts seen in one sweep, the number of sweeps, and
// the versions seen in the worst sweep.
func (p *Prober) Stop() (minHealthy, sweeps int, worst []string) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.min, p.sweeps, p.worst
}
