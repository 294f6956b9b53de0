package live

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// newTestPlatform starts the test state for real, or skips where the live cloud cannot run (not root).
func newTestPlatform(t *testing.T, id string, keys string) (*Platform, State) {
	t.Helper()
	s := testState(keys)
	return startPlatform(t, id, s), s
}

// startPlatform applies s on a new platform that the test's cleanup closes.
func startPlatform(t *testing.T, id string, s State) *Platform {
	t.Helper()
	if err := Check(); err != nil {
		if os.Geteuid() != 0 {
			t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
		}
		t.Fatal(err) // root but something missing: scripts/install-test-deps.sh
	}
	// Not t.TempDir: sshd insists the directories above its files are not world-writable (/tmp is).
	dir, err := os.MkdirTemp("/run", "plinth-live-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p, err := New(Options{ID: id, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Apply(ctx, s); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return p
}

// TestLivePlatform builds the platform for real and checks it end to end: the firewall matrix (every allowed
// flow connects, forbidden ones do not), SSH through the published bastion with the operator key, the tier's
// service restarted with the narrowly scoped sudo rule and its logs read, HTTPS through the published 443
// verified with the CA, 80 redirecting, and a teardown that leaves nothing behind.
func TestLivePlatform(t *testing.T) {
	keys := sshdtest.NewKeys(t, t.TempDir())
	rootTables := mustTables(t, "")
	p, s := newTestPlatform(t, "t1", keys.Authorized)

	var allowed []flow
	for _, r := range firewall.Matrix(testPorts) {
		allowed = append(allowed, flow{r.From, r.To, r.Port})
	}
	closeListeners := listenEverywhere(t, p, s, allowed)
	t.Run("firewall", func(t *testing.T) { testFirewall(t, p, s, allowed) })
	closeListeners() // the services take app:8080 next
	t.Run("ssh and service", func(t *testing.T) { testSSHAndService(t, p, s, keys) })
	t.Run("https", func(t *testing.T) { testHTTPS(t, p, "v1") })
	t.Run("deploy through the bastion", func(t *testing.T) { testDeploy(t, p, s, keys.PrivatePath) })
	if t.Failed() {
		for _, f := range []string{"lb/lb/haproxy.log", "lb/lb/haproxy.cfg", "hosts/app-1/log/plinth-app.service.log"} {
			b, _ := os.ReadFile(filepath.Join(p.dir, f))
			t.Logf("%s:\n%s", f, b)
		}
		out, _ := exec.Command("ip", "netns", "exec", p.NetnsName("lb"), "ss", "-ltnp").CombinedOutput()
		t.Logf("lb listeners:\n%s", out)
	}

	st := p.Status()
	if len(st.Hosts) != len(s.Hosts) {
		t.Errorf("status: %d hosts, want %d", len(st.Hosts), len(s.Hosts))
	}
	for _, h := range st.Hosts {
		if h.State != "running" {
			t.Errorf("status: host %s is %s", h.Name, h.State)
		}
	}
	var pids []int
	for _, pr := range st.Processes {
		if pr.Running {
			pids = append(pids, pr.Pid)
		}
	}
	// 8 anchors + 5 sshd + 2 services + HAProxy.
	if len(pids) != 16 {
		t.Errorf("%d running processes, want 16: %+v", len(pids), st.Processes)
	}
	links := []string{p.bridgeName("main"), linkName("v", p.EdgeNetns()), linkName("v", p.NetnsName(s.LB.Name))}
	for _, h := range s.Hosts {
		links = append(links, linkName("v", p.NetnsName(h.Name)))
	}
	t.Run("scale: app-2 replaced by app-3", func(t *testing.T) {
		s2 := testState(keys.Authorized)
		for i, h := range s2.Hosts {
			if h.Name == "app-2" {
				s2.Hosts[i].Name, s2.Hosts[i].Address = "app-3", netip.MustParseAddr("10.60.10.10")
				s2.Hosts[i].Subnet = netip.MustParsePrefix("10.60.10.0/24")
			}
		}
		s2.LB.Target.Targets = []string{"app-1", "app-3"}
		testScale(t, p, s2)
		links = append(links, linkName("v", p.NetnsName("app-3")))
		for _, pr := range p.Status().Processes {
			if pr.Running {
				pids = append(pids, pr.Pid)
			}
		}
	})
	t.Run("self-healing: app-1's sshd killed", func(t *testing.T) {
		next := testHeal(t, p)
		links = append(links, linkName("v", p.NetnsName(next.Name)))
		for _, pr := range p.Status().Processes {
			if pr.Running {
				pids = append(pids, pr.Pid)
			}
		}
	})
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkNothingLeft(t, "t1", pids, links, st.Published, rootTables)
}

func mustTables(t *testing.T, ns string) []string {
	t.Helper()
	tables, err := listTables(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// checkNothingLeft counts what a closed platform left: processes, namespaces, links, mounts, listeners,
// nftables tables in the root namespace.
func checkNothingLeft(t *testing.T, id string, pids []int, links []string, published map[string]string, rootTables []string) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
				t.Errorf("pid %d still runs: %s", pid, st)
			}
		}
	}
	prefix := NamePrefix + id + "-"
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("namespace %s left", e.Name())
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if n := strings.Count(string(mounts), prefix); n > 0 {
		t.Errorf("%d mounts of %s left", n, prefix)
	}
	for _, l := range links {
		if _, err := netlink.LinkByName(l); err == nil {
			t.Errorf("link %s left", l)
		}
	}
	for name, addr := range published {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("published %s (%s) still listens", name, addr)
		}
	}
	if got := mustTables(t, ""); strings.Join(got, ",") != strings.Join(rootTables, ",") {
		t.Errorf("root namespace nftables tables %v, before %v", got, rootTables)
	}
}

// sshClient connects as the operator to the published bastion, and through it to host.
func sshClient(t *testing.T, p *Platform, keys sshdtest.Keys, to string) *ssh.Client {
	t.Helper()
	khPath := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(khPath, []byte(p.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(khPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "plinth", Auth: []ssh.AuthMethod{ssh.PublicKeys(keys.Signer)}, HostKeyCallback: hk, Timeout: 10 * time.Second}
	bastion, err := ssh.Dial("tcp", p.Status().Bastion, cfg)
	if err != nil {
		t.Fatalf("ssh bastion %s: %v", p.Status().Bastion, err)
	}
	t.Cleanup(func() { _ = bastion.Close() })
	if to == "" {
		return bastion
	}
	conn, err := bastion.Dial("tcp", to)
	if err != nil {
		t.Fatalf("bastion -> %s: %v", to, err)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, to, cfg)
	if err != nil {
		t.Fatalf("ssh %s via the bastion: %v", to, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func run(c *ssh.Client, cmd string) (string, error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(cmd)
	return string(out), err
}

// buildService builds the sample web service stamped with version.
func buildService(t testing.TB, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "webservice")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, "../../../examples/webservice")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build webservice: %v\n%s", err, b)
	}
	return out
}

func testSSHAndService(t *testing.T, p *Platform, s State, keys sshdtest.Keys) {
	bin := buildService(t, "v1")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app-1", "app-2"} {
		var addr string
		for _, h := range s.Hosts {
			if h.Name == name {
				addr = net.JoinHostPort(h.Address.String(), "22")
			}
		}
		c := sshClient(t, p, keys, addr)
		if out, err := run(c, "id -un; pwd"); err != nil || !strings.HasPrefix(out, "plinth\n/home/plinth") {
			t.Fatalf("%s: id: %q %v", name, out, err)
		}
		// Stage a release as the login user in the host's own /srv (the release layout of internal/deploy).
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		sess.Stdin = bytes.NewReader(data)
		if out, err := sess.CombinedOutput(`set -e; R=/srv/plinth/app; mkdir -p $R/releases/v1; cat > $R/releases/v1/app; chmod 0755 $R/releases/v1/app; ln -sfn releases/v1 $R/current`); err != nil {
			t.Fatalf("%s: stage: %v: %s", name, err, out)
		}
		if out, err := run(c, "sudo -n systemctl restart plinth-app.service"); err != nil {
			t.Fatalf("%s: restart: %v: %s", name, err, out)
		}
		if out, err := run(c, "sudo -n systemctl restart plinth-worker.service"); err == nil {
			t.Errorf("%s: sudo let the user restart another unit: %s", name, out)
		}
		if out, err := run(c, "sudo -n cat /etc/shadow"); err == nil {
			t.Errorf("%s: sudo let the user read /etc/shadow: %s", name, out)
		}
		// The deploy engine's health check: from the host itself, through its SSH connection.
		var body string
		err = waitFor(20*time.Second, func() (bool, error) {
			conn, err := c.Dial("tcp", "127.0.0.1:8080")
			if err != nil {
				return false, nil
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /health HTTP/1.0\r\n\r\n")
			b, _ := io.ReadAll(conn)
			body = string(b)
			return strings.Contains(body, `"version":"v1"`), nil
		})
		if err != nil {
			t.Fatalf("%s: service health: %v (last %q)", name, err, body)
		}
		if out, err := run(c, "sudo -n journalctl -u plinth-app.service -n 20 --no-pager"); err != nil || !strings.Contains(out, "webservice v1 starting on 0.0.0.0:8080") {
			t.Errorf("%s: journalctl: %v: %q", name, err, out)
		}
	}
	// The bastion forwards only to 22 and 3306.
	c := sshClient(t, p, keys, "")
	if conn, err := c.Dial("tcp", "10.60.8.10:8080"); err == nil {
		_ = conn.Close()
		t.Error("the bastion forwarded to app:8080")
	}
}

func testHTTPS(t *testing.T, p *Platform, version string) {
	st := p.Status()
	pem, err := os.ReadFile(st.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca file holds no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var last string
	err = waitFor(30*time.Second, func() (bool, error) {
		resp, err := client.Get(st.URL + "/health")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		var h struct{ Version string }
		_ = json.NewDecoder(resp.Body).Decode(&h)
		last = fmt.Sprintf("%d %s", resp.StatusCode, h.Version)
		return resp.StatusCode == 200 && h.Version == version, nil
	})
	if err != nil {
		t.Fatalf("GET %s/health: %v (last: %s)", st.URL, err, last)
	}
	// TLS below 1.2 is refused.
	old := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", strings.TrimPrefix(st.URL, "https://"), old); err == nil {
		_ = c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// 80 only redirects.
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + st.Published["http"] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != st.URL+"/health" {
		t.Errorf("http: %d Location %q, want 301 to %s/health", resp.StatusCode, resp.Header.Get("Location"), st.URL)
	}
}
