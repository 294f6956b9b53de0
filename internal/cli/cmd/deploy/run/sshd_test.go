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
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// TestDeployCommandOverRealSSH runs `plinth deploy` as a user would: a YAML inventory, a deploy config,
// a key file and a known_hosts file, hosts behind a bastion, all real sshd.
func TestDeployCommandOverRealSSH(t *testing.T) {
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	bastion := sshdtest.Start(t, "bastion", sshdtest.Options{Authorized: keys.Authorized})
	var hosts strings.Builder
	servers := []*sshdtest.Server{bastion}
	var ports []int
	for i := 1; i <= 2; i++ {
		s := sshdtest.Start(t, fmt.Sprintf("app-%d", i), sshdtest.Options{Authorized: keys.Authorized})
		port := sshdtest.FreePort(t)
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
    health: {timeout: 1s, retries: 40, interval: 25ms}
`, deploytest.RestartScript())
	for p, data := range map[string]string{invPath: inv, cfgPath: cfg} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	artifact := deploytest.BuildApp(t, "v1", true, 0)
	io, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, Now: time.Now, Getenv: func(k string) string {
		if k == "HOME" {
			return dir
		}
		if k == "PLINTH_DEPLOYER" {
			return "e2e@test"
		}
		return ""
	}}
	cmd := NewCmdRun(f, nil)
	cmd.SetArgs([]string{"--stack", "staging", "--tier", "app", "--artifact", artifact, "--version", "v1",
		"--inventory", invPath, "--config", cfgPath, "--identity", keys.PrivatePath, "--known-hosts", known, "-m", "e2e"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
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
