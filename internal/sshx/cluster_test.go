package sshx_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// cluster is a bastion and n hosts, each a real sshd on loopback with its own release root.
type cluster struct {
	bastion *sshdtest.Server
	hosts   []*sshdtest.Server
	ports   []int
	inv     *inventory.Inventory
	keys    sshdtest.Keys
	known   string
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{keys: sshdtest.NewKeys(t, dir), known: filepath.Join(dir, "known_hosts")}
	c.bastion = sshdtest.Start(t, "bastion", sshdtest.Options{Authorized: c.keys.Authorized})
	tier := &inventory.Tier{Name: "app"}
	for i := 1; i <= n; i++ {
		s := sshdtest.Start(t, "app-"+strconv.Itoa(i), sshdtest.Options{Authorized: c.keys.Authorized})
		port := sshdtest.ServicePort(t)
		c.hosts = append(c.hosts, s)
		c.ports = append(c.ports, port)
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: s.Name, Address: s.Addr, User: "root", Root: s.Root, Port: port})
		root := s.Root
		t.Cleanup(func() { deploytest.StopApp(root) })
	}
	sshdtest.WriteKnownHosts(t, c.known, append([]*sshdtest.Server{c.bastion}, c.hosts...)...)
	c.inv = &inventory.Inventory{
		Stack: "staging", User: "root",
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: c.bastion.Addr, User: "root"},
			StateDir: filepath.Join(c.bastion.Dir, "state")},
		Tiers: map[string]*inventory.Tier{"app": tier},
	}
	if err := c.inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	return c
}

// runner connects through the bastion (ProxyJump), with keepalives every second.
func (c *cluster) runner(t *testing.T) *sshx.Runner {
	t.Helper()
	return c.runnerWith(t, time.Second)
}

func (c *cluster) runnerWith(t *testing.T, keepalive time.Duration) *sshx.Runner {
	t.Helper()
	b := c.inv.Bastion.Host
	r, err := sshx.New(sshx.Config{KnownHosts: []string{c.known}, IdentityFiles: []string{c.keys.PrivatePath}, Bastion: &b,
		KeepAlive: keepalive, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func (c *cluster) state(r deploy.Runner) deploy.State {
	return deploy.State{Runner: r, Host: c.inv.Bastion.Host, Dir: c.inv.Bastion.StateDir}
}

func (c *cluster) plan(t *testing.T, rel deploy.Release, cfg deploy.TierConfig) *deploy.Plan {
	t.Helper()
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: c.inv, Tier: "app", Release: rel, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *cluster) deploy(t *testing.T, r deploy.Runner, rel deploy.Release) *deploy.Outcome {
	t.Helper()
	out, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), c.plan(t, rel, deploytest.TierConfig()))
	if err != nil {
		t.Fatalf("deploy %s: %v", rel.Version, err)
	}
	return out
}

func (c *cluster) current(t *testing.T, i int) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(c.hosts[i].Root, "current"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

func (c *cluster) serving(i int) string {
	return deploytest.Health(httpClient, c.ports[i])
}
