package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/bench/internal/livehome"
	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/sshx"
)

// rollingDeploy deploys v1 to the app tier (its first release), waits until the URL serves it, then rolls
// v2 with the deploy engine's default tier config while a prober requests /health through the published 443.
func rollingDeploy(r *round, home, stack, bastion, url string, client *http.Client, hosts []appHost, addrs map[string]string, v1, v2 string) error {
	data, err := os.ReadFile(filepath.Join("environments", "Pulumi."+stack+".yaml"))
	if err != nil {
		return err
	}
	spec, err := environments.LoadFile(stack, data)
	if err != nil {
		return err
	}
	user := spec.Bastion.SSHUser
	svc := userdata.Service{Tier: "app", User: user, Port: spec.Tiers.App.Port}
	liveDir := filepath.Join(home, "live")
	known := filepath.Join(home, "known_hosts")
	if err := writeKnownHosts(known, filepath.Join(liveDir, "stacks", live.StackID(stack), "hosts"), bastion, addrs); err != nil {
		return err
	}
	tier := &inventory.Tier{Name: "app"}
	for _, h := range hosts {
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: h.name, Address: net.JoinHostPort(h.address, "22"), User: user,
			Root: svc.Root(), Port: svc.Port})
	}
	inv := &inventory.Inventory{Stack: stack, User: user,
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: bastion, User: user}, StateDir: "/home/" + user + "/plinth-state"},
		Tiers:   map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		return err
	}
	b := inv.Bastion.Host
	runner, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{filepath.Join(liveDir, "operator_ed25519")},
		Bastion: &b, KeepAlive: time.Second, DialTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer runner.Close()
	cfg := (&deploy.Config{Tiers: map[string]deploy.TierConfig{"app": {Health: deploy.HealthConfig{Retries: 200, Interval: 100 * time.Millisecond}}}}).Tier("app")
	roll := func(path, version string) error {
		rel, err := release(path, version)
		if err != nil {
			return err
		}
		plan, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg})
		if err != nil {
			return err
		}
		_, err = (&deploy.Executor{Runner: runner}).Execute(context.Background(), plan)
		return err
	}
	if err := roll(v1, "v1"); err != nil {
		return fmt.Errorf("deploy v1: %w", err)
	}
	serves := func(version string) bool {
		resp, err := client.Get(url + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Version string }
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode == http.StatusOK && h.Version == version
	}
	// Every target healthy before the roll: a few checks in a row.
	if err := livehome.Until(60*time.Second, func() bool { return serves("v1") && serves("v1") && serves("v1") }); err != nil {
		return fmt.Errorf("v1 is not served: %w", err)
	}
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
			resp, err := client.Get(url + "/health")
			if err != nil {
				bad.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				bad.Add(1)
			}
		}
	}()
	start := time.Now()
	err = roll(v2, "v2")
	r.deploy = time.Since(start)
	close(quit)
	<-done
	r.requests, r.failed = int(n.Load()), int(bad.Load())
	if err != nil {
		return fmt.Errorf("deploy v2: %w", err)
	}
	if err := livehome.Until(30*time.Second, func() bool { return serves("v2") }); err != nil {
		return fmt.Errorf("v2 is not served: %w", err)
	}
	return nil
}

// writeKnownHosts writes each host's key (read from the live cloud's host directory: the key its sshd
// presents) for its address (addrs, from the status), and the bastion's for its published address too.
func writeKnownHosts(path, hostsDir, bastion string, addrs map[string]string) error {
	var lines []string
	for _, name := range sortedNames(addrs) {
		b, err := os.ReadFile(filepath.Join(hostsDir, name, "ssh", "ssh_host_ed25519_key"))
		if errors.Is(err, os.ErrNotExist) {
			continue // no sshd (a managed service's node)
		}
		if err != nil {
			return err
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("host %s: %w", name, err)
		}
		hosts := []string{addrs[name]}
		if strings.HasPrefix(name, "bastion") {
			hosts = append(hosts, knownhosts.Normalize(bastion))
		}
		lines = append(lines, knownhosts.Line(hosts, signer.PublicKey()))
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func release(path, version string) (deploy.Release, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return deploy.Release{}, err
	}
	return deploy.Release{Version: version, Artifact: path, SHA256: fmt.Sprintf("%x", sha256.Sum256(b)), Size: int64(len(b)), CreatedAt: time.Now()}, nil
}

func buildService(dir, version string) (string, error) {
	out := filepath.Join(dir, "webservice-"+version)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, "./examples/webservice")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build webservice: %v: %s", err, b)
	}
	return out, nil
}
