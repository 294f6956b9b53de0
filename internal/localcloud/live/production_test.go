package live

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/localcloud"
)

// TestHookRunsProduction replays production's creates through the Hook: both VPCs come up as bridges (the
// primary and the DR region's), the nine hosts start (concurrently), the edge sits on the primary VPC (the
// one with the load balancer and the bastion, although the DR VPC sorts first), so that the published 443
// answers over TLS and the published 22 with an SSH banner. Then the deletes in reverse: every namespace,
// bridge and process the platform counted is destroyed, nothing is left.
func TestHookRunsProduction(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	op, err := LoadOrCreateOperatorKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := startPlatform(t, "prodhk", State{})
	hook := &Hook{Platform: func(string) (*Platform, error) { return p, nil }, AuthorizedKeys: op.Authorized}
	changes := stackChanges(t, environments.Production)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	for _, c := range changes {
		if _, err := hook.Apply(ctx, c); err != nil {
			t.Fatalf("create %s: %v", c.URN, err)
		}
	}
	t.Logf("production's %d creates through the hook: %s", len(changes), time.Since(start).Round(time.Millisecond))
	st := p.Status()
	compute, managed := 0, 0
	for _, h := range st.Hosts {
		if h.Tier == "db" || h.Tier == "cache" {
			managed++
		} else {
			compute++
		}
	}
	// 9 hosts (3 app, 3 worker, 2 sftp, the bastion) and the data tier's 7 managed nodes (4 databases, 3 cache).
	if compute != 9 || managed != 7 || st.URL == "" || st.Bastion == "" {
		t.Fatalf("after up: %+v", st)
	}
	for _, h := range st.Hosts {
		if h.State != "running" {
			t.Errorf("host %s is %s", h.Name, h.State)
		}
	}
	var bridges []string
	for _, v := range p.state.VPCs {
		br := p.bridgeName(v.Name)
		if _, err := netlink.LinkByName(br); err != nil {
			t.Errorf("vpc %s: bridge %s: %v", v.Name, br, err)
		}
		bridges = append(bridges, br)
	}
	if len(bridges) != 2 || p.edgeVPC != "production-network-vpc" {
		t.Fatalf("bridges %v, edge on %q: want both VPCs and the edge on the primary", bridges, p.edgeVPC)
	}
	if code := httpsStatus(t, st.CAFile, st.URL+"/health"); code != 503 { // nothing deployed: no healthy target
		t.Errorf("GET %s/health: %d, want 503", st.URL, code)
	}
	c, err := net.DialTimeout("tcp", st.Bastion, 5*time.Second)
	if err != nil {
		t.Fatalf("bastion %s: %v", st.Bastion, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Errorf("bastion %s: banner %q", st.Bastion, banner)
	}

	// What runs, counted before the destroy.
	nss := platformNamespaces(t, "prodhk")
	procs := 0
	for _, pr := range st.Processes {
		if pr.Running {
			procs++
		}
	}
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		c.Op = localcloud.OpDelete
		if _, err := hook.Apply(ctx, c); err != nil {
			t.Fatalf("delete %s: %v", c.URN, err)
		}
	}
	t.Logf("destroyed %d namespaces, %d bridges, %d processes", len(nss), len(bridges), procs)
	// 9 hosts, the load balancer, the edge and 7 managed data nodes; anchors, sshds, HAProxy, mariadbds, redis
	if len(nss) != 18 || procs < 33 {
		t.Errorf("before the destroy: namespaces %v, %d processes", nss, procs)
	}
	st = p.Status()
	if len(st.Hosts) != 0 || len(st.Published) != 0 {
		t.Errorf("after destroy: %+v", st)
	}
	for _, pr := range st.Processes {
		if pr.Running {
			t.Errorf("after destroy %s (pid %d) runs", pr.Name, pr.Pid)
		}
	}
	if left := platformNamespaces(t, "prodhk"); len(left) > 0 {
		t.Errorf("after destroy namespaces are left: %v", left)
	}
	for _, br := range bridges {
		if _, err := netlink.LinkByName(br); err == nil {
			t.Errorf("after destroy bridge %s is left", br)
		}
	}
}

// httpsStatus GETs url trusting only caFile's certificate.
func httpsStatus(t *testing.T, caFile, url string) int {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca file holds no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func platformNamespaces(t *testing.T, id string) []string {
	t.Helper()
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix+id+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// stackChanges are the creates the provider would hand its hooks while `up` runs a stack's program.
func stackChanges(t *testing.T, stack string) []localcloud.Change {
	t.Helper()
	var changes []localcloud.Change
	for _, r := range stackResources(t, stack) {
		if r.Custom {
			changes = append(changes, localcloud.Change{Op: localcloud.OpCreate, Stack: stack, URN: r.URN, Type: r.Type,
				ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
		}
	}
	return changes
}
