package run

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

type e2e struct {
	dir, invPath, cfgPath, known, key string
	bastion                           *sshdtest.Server
	hosts                             []*sshdtest.Server
	ports                             []int
}

// newE2E starts a bastion and n hosts (real sshd) and writes the inventory and deploy config; extraCfg is
// appended to the app tier's config.
func newE2E(t *testing.T, n int, extraCfg string) *e2e {
	t.Helper()
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	bastion := sshdtest.Start(t, "bastion", sshdtest.Options{Authorized: keys.Authorized})
	var hosts strings.Builder
	servers := []*sshdtest.Server{bastion}
	var ports []int
	for i := 1; i <= n; i++ {
		s := sshdtest.Start(t, fmt.Sprintf("app-%d", i), sshdtest.Options{Authorized: keys.Authorized})
		port := sshdtest.ServicePort(t)
		servers, ports = append(servers, s), append(ports, port)
		fmt.Fprintf(&hosts, "      - {name: %s, address: %q, root: %q, port: %d}\n", s.Name, s.Addr, s.Root, port)
		root := s.Root
		t.Cleanup(func() { deploytest.StopApp(root) })
	}
	known := filepath.Join(dir, "known_hosts")
	sshdtest.WriteKnownHosts(t, known, servers...)
	invPath := filepath.Join(dir, "inventory.yaml")
	inv := fmt.Sprintf("stack: staging\nuser: root\nbastion: {address: %q, stateDir: %q}\ntiers:\n  app:\n    hosts:\n%s",
		bastion.Addr, filepath.Join(bastion.Dir, "state"), hosts.String())
	cfgPath := filepath.Join(dir, "deploy.yaml")
	cfg := fmt.Sprintf(`tiers:
  app:
    binary: app
    restart: [sh, %q, "{root}", "{port}"]
    logs: [tail, -n, "20", "{root}/app.log"]
    health: {timeout: 1s, retries: 200, interval: 25ms}
`, deploytest.RestartScript()) + extraCfg
	for p, data := range map[string]string{invPath: inv, cfgPath: cfg} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &e2e{dir: dir, invPath: invPath, cfgPath: cfgPath, known: known, key: keys.PrivatePath, bastion: bastion, hosts: servers[1:], ports: ports}
}

// deploy runs `plinth deploy` with the e2e files (and extra flags).
func (e *e2e) deploy(t *testing.T, version string, extra ...string) (*bytes.Buffer, error) {
	t.Helper()
	artifact := deploytest.BuildApp(t, version, true, 0)
	io, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, Now: time.Now, Getenv: func(k string) string {
		if k == "HOME" {
			return e.dir
		}
		if k == "PLINTH_DEPLOYER" {
			return "e2e@test"
		}
		return ""
	}}
	cmd := NewCmdRun(f, nil)
	cmd.SetArgs(append([]string{"--stack", "staging", "--tier", "app", "--artifact", artifact, "--version", version,
		"--inventory", e.invPath, "--config", e.cfgPath, "--identity", e.key, "--known-hosts", e.known, "-m", "e2e"}, extra...))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return out, cmd.Execute()
}

// TestDeployCommandOverRealSSH runs `plinth deploy` as a user would: a YAML inventory, a deploy config,
// a key file and a known_hosts file, hosts behind a bastion, all real sshd.
func TestDeployCommandOverRealSSH(t *testing.T) {
	e := newE2E(t, 2, "")
	out, err := e.deploy(t, "v1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bastion, ports := e.bastion, e.ports
	for _, p := range ports {
		if v := deploytest.Health(httpClient(), p); v != "v1" {
			t.Fatalf("port %d serves %q\n%s", p, v, out)
		}
	}
	// The audit log and the (released) lock are on the bastion.
	b, err := os.ReadFile(filepath.Join(bastion.Dir, "state", "audit.jsonl"))
	if err != nil || !strings.Contains(string(b), `"holder":"e2e@test"`) || !strings.Contains(string(b), `"result":"succeeded"`) {
		t.Fatalf("audit log: %s %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(bastion.Dir, "state", "locks", "staging.lock")); !os.IsNotExist(err) {
		t.Fatalf("lock left behind: %v", err)
	}
}

// TestDeployThroughHAProxyServesEveryRequest: hosts behind a real HAProxy whose admin socket is reached
// through the bastion's SSH connection; during a rolling deploy every request through HAProxy succeeds.
func TestDeployThroughHAProxyServesEveryRequest(t *testing.T) {
	// The hosts' service ports are only known once the cluster exists: start haproxy after, pointing at them.
	e := newE2E(t, 3, "")
	names := []string{"app-1", "app-2", "app-3"}
	var addrs []string
	for _, p := range e.ports {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	hp := lbtest.StartHAProxy(t, "app", "/health", names, addrs)
	extra := fmt.Sprintf("    loadBalancer: {kind: haproxy, socket: %q, via: bastion, backend: app}\n", hp.Socket)
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, append(cfg, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := e.deploy(t, "v1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	stop := make(chan struct{})
	done := make(chan [2]int)
	go func() {
		client := httpClient()
		ok, failed := 0, 0
		for {
			select {
			case <-stop:
				done <- [2]int{ok, failed}
				return
			default:
			}
			if v := deploytest.Health(client, portOf(hp.Frontend)); v == "v1" || v == "v2" {
				ok++
			} else {
				failed++
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	out, err := e.deploy(t, "v2")
	close(stop)
	counts := <-done
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "drain") || !strings.Contains(out.String(), "enable") {
		t.Fatalf("no drain/enable steps:\n%s", out)
	}
	if counts[1] != 0 || counts[0] < 10 {
		t.Fatalf("through HAProxy during the deploy: %d ok, %d failed", counts[0], counts[1])
	}
	t.Logf("%d requests through HAProxy during the deploy, none failed", counts[0])
}

func portOf(addr string) int {
	var p int
	_, _ = fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p)
	return p
}
