package sshx_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Faults an SRE meets: a host that hangs (its sshd and its service stopped with SIGSTOP: connections stay
// open, the kernel still accepts new ones, nothing answers), and a full disk. Real sshd hosts behind the
// real sshd bastion.

// freeze stops host i's sshd (with every process it started) and its service, and resumes them when the
// test ends (before the cluster's cleanup kills them).
func (c *cluster) freeze(t *testing.T, i int) {
	thawSSHD := c.hosts[i].Freeze()
	thawApp := deploytest.FreezeApp(c.hosts[i].Root)
	t.Cleanup(func() { thawApp(); thawSSHD() })
}

// freezingRunner freezes a host just before a step of the given kind reaches it.
type freezingRunner struct {
	deploy.Runner
	host   string
	script string // the argv[3] of the step's sh -c script ("" for uploads)
	upload bool
	freeze func()
	once   sync.Once
	at     time.Time
}

func (f *freezingRunner) hit(h inventory.Host) {
	if h.Name == f.host {
		f.once.Do(func() { f.freeze(); f.at = time.Now() })
	}
}

func (f *freezingRunner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	if f.script != "" && len(c.Argv) > 3 && c.Argv[3] == f.script {
		f.hit(h)
	}
	return f.Runner.Run(ctx, h, c)
}

func (f *freezingRunner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	if f.upload {
		f.hit(h)
	}
	return f.Runner.Upload(ctx, h, u, progress)
}

// hungMessage is what a host that stopped answering reads as.
func hungMessage(host, addr, step string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(host+" ("+addr+") stopped responding: no answer for ") + `[0-9.]+m?s during ` + step + `(\n|$)`)
}

// A host hangs just before its switch. Either its keepalives (every second here) or the step's deadline
// (keepalives every 30 s) give it up; then its rollback gets one short retry.
func TestHungHostFailsTheDeployWithinTheStepTimeout(t *testing.T) {
	for _, keepalive := range []time.Duration{time.Second, 30 * time.Second} {
		t.Run("keepalive "+keepalive.String(), func(t *testing.T) { hungHostDuringSwitch(t, keepalive) })
	}
}

func hungHostDuringSwitch(t *testing.T, keepalive time.Duration) {
	const stepTimeout = 5 * time.Second
	c := newCluster(t, 3)
	r := c.runnerWith(t, keepalive)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	c.deploy(t, r, v1)

	prober := deploytest.StartProber(5*time.Millisecond, c.ports, "v1", "v2")
	fr := &freezingRunner{Runner: r, host: "app-2", script: "plinth-switch", freeze: func() { prober.Down(c.ports[1]); c.freeze(t, 1) }}
	out, err := (&deploy.Executor{Runner: fr, StepTimeout: stepTimeout}).Execute(context.Background(), c.plan(t, v2, deploytest.TierConfig()))
	took := time.Since(fr.at)
	minHealthy, sweeps, worst := prober.Stop()
	if fr.at.IsZero() {
		t.Fatalf("app-2 was never frozen: %v", err)
	}
	t.Logf("time to fail after app-2 hung (step timeout %s, keepalive %s): %s; error:\n%v", stepTimeout, keepalive, took.Round(time.Millisecond), err)
	var he *deploy.HostError
	var ue *deploy.UnresponsiveError
	if !errors.As(err, &he) || he.Host != "app-2" || he.Step != deploy.StepSwitch || !errors.As(err, &ue) {
		t.Fatalf("want app-2 stopped responding during switch, got %v", err)
	}
	if !hungMessage("app-2", c.hosts[1].Addr, "switch").MatchString(err.Error()) {
		t.Fatalf("message does not say app-2 stopped responding during switch:\n%v", err)
	}
	// The deadline, one keepalive's grace, one short retry for the rollback, and slack for a loaded machine:
	// nowhere near the minute the keepalives and the connect timeout used to add.
	if limit := stepTimeout + 7*time.Second; took > limit {
		t.Fatalf("the deploy failed %s after app-2 hung: want under %s", took, limit)
	}
	if got := c.serving(0); got != "v2" {
		t.Fatalf("app-1 serves %q", got)
	}
	if got, cur := c.serving(2), c.current(t, 2); got != "v1" || cur != "v1" {
		t.Fatalf("app-3 serves %q, current %q: it should be untouched", got, cur)
	}
	if len(out.Switched) != 1 || out.Switched[0] != "app-1" {
		t.Fatalf("switched %v", out.Switched)
	}
	// N = 2 of 3: app-1 was out while it switched, app-2 from the moment it hung, never both.
	if minHealthy < 2 {
		t.Fatalf("only %d of 3 hosts healthy at one moment (%v) over %d sweeps", minHealthy, worst, sweeps)
	}
	t.Logf("prober: min healthy %d/3 over %d sweeps", minHealthy, sweeps)
}

// N of N+1 with a hung host anywhere in the order: the host hangs (sshd and service) after staging, just
// before the first batch. Nothing may be taken out while it is down, except itself.
func TestHungHostAtEachPositionKeepsNHealthy(t *testing.T) {
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	overall := 4
	for pos := 1; pos <= 4; pos++ {
		t.Run(fmt.Sprintf("app-%d hung", pos), func(t *testing.T) {
			const stepTimeout = 5 * time.Second
			c := newCluster(t, 4)
			r := c.runner(t)
			c.deploy(t, r, v1)
			prober := deploytest.StartProber(5*time.Millisecond, c.ports, "v1", "v2")
			var once sync.Once
			var at time.Time
			exec := &deploy.Executor{Runner: r, StepTimeout: stepTimeout, Emit: func(ev deploy.Event) {
				if ev.Phase == deploy.PhaseCheck || ev.Phase == deploy.PhaseSwitch {
					once.Do(func() { prober.Down(c.ports[pos-1]); c.freeze(t, pos-1); at = time.Now() })
				}
			}}
			out, err := exec.Execute(context.Background(), c.plan(t, v2, deploytest.TierConfig()))
			took := time.Since(at)
			minHealthy, sweeps, worst := prober.Stop()
			name := fmt.Sprintf("app-%d", pos)
			t.Logf("failed %s after %s hung: %v", took.Round(time.Millisecond), name, err)
			var he *deploy.HostError
			if !errors.As(err, &he) || he.Host != name {
				t.Fatalf("want the rollout stopped naming %s, got %v", name, err)
			}
			if !strings.Contains(err.Error(), name+" ("+c.hosts[pos-1].Addr+") stopped responding") {
				t.Fatalf("the error does not say %s stopped responding: %v", name, err)
			}
			if minHealthy < 3 {
				t.Fatalf("only %d of 4 hosts healthy at one moment (%v) over %d sweeps", minHealthy, worst, sweeps)
			}
			if sweeps < 10 {
				t.Fatalf("prober made only %d sweeps", sweeps)
			}
			if len(out.Switched) != 0 {
				t.Fatalf("switched %v while %s was down", out.Switched, name)
			}
			for i := range c.hosts {
				if i != pos-1 && c.serving(i) != "v1" {
					t.Fatalf("app-%d serves %q", i+1, c.serving(i))
				}
			}
			if took > stepTimeout+7*time.Second {
				t.Fatalf("took %s", took)
			}
			overall = min(overall, minHealthy)
			t.Logf("prober: min healthy %d/4 over %d sweeps", minHealthy, sweeps)
		})
	}
	t.Logf("prober minimum over every position: %d of 4", overall)
}

func TestHungHostDuringUploadFailsStaging(t *testing.T) {
	const stepTimeout = 3 * time.Second
	c := newCluster(t, 3)
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	fr := &freezingRunner{Runner: r, host: "app-3", upload: true, freeze: func() { c.freeze(t, 2) }}
	out, err := (&deploy.Executor{Runner: fr, StepTimeout: stepTimeout}).Execute(context.Background(), c.plan(t, v1, deploytest.TierConfig()))
	took := time.Since(fr.at)
	t.Logf("time to fail after app-3 hung (step timeout %s): %s; error: %v", stepTimeout, took.Round(time.Millisecond), err)
	if !hungMessage("app-3", c.hosts[2].Addr, "upload").MatchString(fmt.Sprint(err)) {
		t.Fatalf("want app-3 stopped responding during upload, got %v", err)
	}
	if limit := stepTimeout + 5*time.Second; took > limit {
		t.Fatalf("staging failed %s after app-3 hung: want under %s", took, limit)
	}
	if len(out.Switched) != 0 {
		t.Fatalf("switched %v after a failed staging", out.Switched)
	}
}

// A command that never reports its exit: the sshd process serving the connection stops while the command
// runs (the host's listener still answers new connections).
func TestHungCommandIsBoundedByTheStepTimeout(t *testing.T) {
	const stepTimeout = 3 * time.Second
	c := newCluster(t, 2)
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	c.deploy(t, r, v1)
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	cfg := deploytest.TierConfig()
	// On app-2, the post hook stops the sshd process serving its connection.
	cfg.Post = [][]string{{"sh", "-c", deploytest.FreezeSSHDScript, "sh", "{host}", "app-2"}}
	start := time.Now()
	out, err := (&deploy.Executor{Runner: r, StepTimeout: stepTimeout}).Execute(context.Background(), c.plan(t, v2, cfg))
	took := time.Since(start)
	t.Logf("deploy took %s; error: %v", took.Round(time.Millisecond), err)
	if !hungMessage("app-2", c.hosts[1].Addr, "post").MatchString(fmt.Sprint(err)) {
		t.Fatalf("want app-2 stopped responding during post, got %v", err)
	}
	if took > stepTimeout+10*time.Second {
		t.Fatalf("took %s", took)
	}
	// The host itself still answers new connections: the rollback got through and app-2 serves v1 again.
	if got := c.serving(1); got != "v1" || len(out.RolledBack) != 1 {
		t.Fatalf("app-2 serves %q, rolled back %v", got, out.RolledBack)
	}
}

// A full disk on one host: a 4 MiB tmpfs mounted over app-3's release root, and an artifact of 8 MiB of
// random bytes (zstd cannot shrink it). The receiver on the host really hits ENOSPC.
func TestFullDiskReadsOncePlainly(t *testing.T) {
	c := newCluster(t, 3)
	root := c.hosts[2].Root
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatalf("mount a small tmpfs over %s (the tests run as root): %v", root, err)
	}
	t.Cleanup(func() {
		deploytest.StopApp(root)
		_ = syscall.Unmount(root, syscall.MNT_DETACH)
	})
	r := c.runner(t)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 8<<20), "v1")
	out, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), c.plan(t, v1, deploytest.TierConfig()))
	want := "app-3: no space left on device under " + root
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	var ne *deploy.NoSpaceError
	var ce *deploy.CommandError
	if !errors.As(err, &ne) || !errors.As(err, &ce) {
		t.Fatalf("the error does not carry the full disk and the command's own error: %#v", err)
	}
	t.Logf("error: %v (the command's: %v)", err, ce)
	// Staging failed: nothing switched anywhere, and no partial upload is left on app-3.
	if len(out.Switched) != 0 {
		t.Fatalf("switched %v", out.Switched)
	}
	for i := range c.hosts {
		if cur := c.current(t, i); cur != "" {
			t.Fatalf("app-%d current -> %q", i+1, cur)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(root, ".artifacts", "*.part.*"))
	if len(parts) != 0 {
		t.Fatalf("partial uploads left on app-3: %v", parts)
	}
}
