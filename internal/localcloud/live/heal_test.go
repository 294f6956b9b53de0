package live

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/firewall"
)

// testScale applies a state where one app host is replaced by another: the old host's namespace and
// processes go, the new one runs, every ruleset and the load balancer follow the new membership.
func testScale(t *testing.T, p *Platform, s State) {
	old, _ := p.sup.Running("app-2/sshd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Apply(ctx, s); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := os.Stat(netnsDir + "/" + p.NetnsName("app-2")); err == nil {
		t.Error("app-2's namespace survived")
	}
	if old == 0 || syscall.Kill(old, 0) == nil {
		t.Errorf("app-2's sshd (pid %d) still runs", old)
	}
	l, err := ListenIn(p.NetnsName("app-3"), "10.60.10.10:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, f := range []flow{{firewall.Bastion, firewall.App, 22}, {firewall.LB, firewall.App, 8080}} {
		if err := attempt(p, s, f, 10*time.Second); err != nil {
			t.Errorf("%s after the scale: %v", f, err)
		}
	}
	lbRules, _ := os.ReadFile(filepath.Join(p.lb.dir, "ruleset.nft"))
	cfg, _ := os.ReadFile(filepath.Join(p.lb.dir, "haproxy.cfg"))
	if strings.Contains(string(lbRules), "10.60.9.10") || !strings.Contains(string(lbRules), "10.60.10.10") {
		t.Errorf("the load balancer's ruleset did not follow the scale:\n%s", lbRules)
	}
	if strings.Contains(string(cfg), "app-2") || !strings.Contains(string(cfg), "server app-3 10.60.10.10:8080 check") {
		t.Errorf("haproxy's targets did not follow the scale:\n%s", cfg)
	}
}

// testHeal kills app-1's sshd by its pid and waits for the watcher to replace the host: a new app host with
// a new address in app-1's subnet, in the load balancer's targets and every ruleset, reachable over SSH
// through the bastion; a deploy afterwards stages the release onto it.
func testHeal(t *testing.T, p *Platform) Host {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replaced := make(chan Replacement, 4)
	go p.Watch(ctx, 200*time.Millisecond, func(r Replacement) { replaced <- r }, func(err error) { t.Logf("heal: %v", err) })
	if err := p.KillSSHD("app-1"); err != nil {
		t.Fatal(err)
	}
	var r Replacement
	select {
	case r = <-replaced:
	case <-time.After(time.Minute):
		t.Fatal("app-1 was not replaced within a minute")
	}
	cancel()
	if r.Old.Name != "app-1" || r.New.Tier != "app" || r.New.Name == "app-1" || r.New.Address == r.Old.Address ||
		!r.Old.Subnet.Contains(r.New.Address) || r.Reason != "sshd exited" {
		t.Fatalf("replacement %+v", r)
	}
	if _, err := os.Stat(netnsDir + "/" + p.NetnsName("app-1")); err == nil {
		t.Error("app-1's namespace survived its replacement")
	}
	cfg, _ := os.ReadFile(filepath.Join(p.lb.dir, "haproxy.cfg"))
	if !strings.Contains(string(cfg), "server "+r.New.Name+" "+r.New.Address.String()+":8080 check") || strings.Contains(string(cfg), "app-1") {
		t.Errorf("haproxy targets after the replacement:\n%s", cfg)
	}
	if err := attempt(p, p.state, flow{firewall.Bastion, firewall.App, 22}, 10*time.Second); err != nil {
		t.Errorf("bastion -> app:22 after the replacement: %v", err)
	}
	t.Logf("%s (%s) replaced by %s (%s): %s", r.Old.Name, r.Old.Address, r.New.Name, r.New.Address, r.Reason)
	return r.New
}
