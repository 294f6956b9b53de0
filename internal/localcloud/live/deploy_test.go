package live

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
)

// testDeploy rolls v2 of the sample service onto the app tier with the existing deploy engine and its
// default tier configuration (sudo -n systemctl restart {service}, journalctl -u, /health from the host),
// through the published bastion, then checks the load balancer serves v2 and a re-deploy sends nothing.
func testDeploy(t *testing.T, p *Platform, s State, identity string) {
	known := filepath.Join(t.TempDir(), "known_hosts")
	if err := p.WriteKnownHosts(known); err != nil {
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
	r, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{identity}, Bastion: &b,
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
	probe := startProber(t, p)
	first := run()
	requests, failed := probe()
	if first.BytesSent == 0 {
		t.Error("the first deploy of v2 sent nothing")
	}
	// N+1: with two or more hosts the tier never stops answering (a one-host tier has N = 0, and this may be
	// its first release).
	if len(tier.Hosts) > 1 && (failed > 0 || requests < 20) {
		t.Errorf("%d of %d requests through the published 443 failed during the rolling deploy", failed, requests)
	}
	t.Logf("rolling deploy: %d requests through the published 443, %d failed", requests, failed)
	testHTTPS(t, p, "v2")
	if again := run(); again.BytesSent != 0 {
		t.Errorf("re-deploying v2 sent %d bytes, want 0", again.BytesSent)
	}
	t.Logf("v2 deployed to %d hosts through the bastion (%d bytes), re-deploy 0 bytes", len(tier.Hosts), first.BytesSent)
}

// startProber requests /health through the published HTTPS address until stopped; stop returns how many
// requests it made and how many did not answer 200.
func startProber(t *testing.T, p *Platform) (stop func() (requests, failed int)) {
	st := p.Status()
	pem, err := os.ReadFile(st.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
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
			resp, err := client.Get(st.URL + "/health")
			if err != nil {
				if bad.Add(1) <= 3 {
					t.Logf("probe: %v", err)
				}
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK && bad.Add(1) <= 3 {
				t.Logf("probe: %s", resp.Status)
			}
		}
	}()
	return func() (int, int) {
		close(quit)
		<-done
		return int(n.Load()), int(bad.Load())
	}
}
