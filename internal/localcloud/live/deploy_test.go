package live

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// testDeploy rolls v2 of the sample service onto the app tier with the existing deploy engine and its
// default tier configuration (sudo -n systemctl restart {service}, journalctl -u, /health from the host),
// through the published bastion, then checks the load balancer serves v2 and a re-deploy sends nothing.
func testDeploy(t *testing.T, p *Platform, s State, keys sshdtest.Keys) {
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(p.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	tier := &inventory.Tier{Name: "app"}
	for _, h := range s.Hosts {
		if h.Tier == "app" {
			tier.Hosts = append(tier.Hosts, inventory.Host{Name: h.Name, Address: net.JoinHostPort(h.Address.String(), "22"),
				User: s.SSHUser, Root: h.Service.Root(), Port: h.Service.Port})
		}
	}
	inv := &inventory.Inventory{
		Stack: "staging", User: s.SSHUser,
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: p.Status().Bastion, User: s.SSHUser},
			StateDir: "/home/" + s.SSHUser + "/plinth-state"},
		Tiers: map[string]*inventory.Tier{"app": tier},
	}
	if err := inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	b := inv.Bastion.Host
	r, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{keys.PrivatePath}, Bastion: &b,
		KeepAlive: time.Second, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	// The defaults a real deploy uses; only the health check's patience is raised for a loaded machine.
	cfg := (&deploy.Config{Tiers: map[string]deploy.TierConfig{"app": {Health: deploy.HealthConfig{Retries: 200, Interval: 100 * time.Millisecond}}}}).Tier("app")
	v2 := deploytest.Release(t, buildService(t, "v2"), "v2")
	run := func() *deploy.Outcome {
		t.Helper()
		plan, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: v2, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&deploy.Executor{Runner: r}).Execute(context.Background(), plan)
		if err != nil {
			t.Fatalf("deploy v2: %v", err)
		}
		return out
	}
	first := run()
	if first.BytesSent == 0 {
		t.Error("the first deploy of v2 sent nothing")
	}
	testHTTPS(t, p, "v2")
	if again := run(); again.BytesSent != 0 {
		t.Errorf("re-deploying v2 sent %d bytes, want 0", again.BytesSent)
	}
	t.Logf("v2 deployed to %d hosts through the bastion (%d bytes), re-deploy 0 bytes", len(tier.Hosts), first.BytesSent)
}
