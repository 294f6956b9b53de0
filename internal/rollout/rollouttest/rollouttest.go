// Package rollouttest gives tests a stack of real sshd hosts behind a real sshd bastion (an inventory
// file, a deploy config, a key and known_hosts: what rollout.Connect takes) and a release escrow on an S3
// emulator (gofakes3 in process).
package rollouttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// Host is one sshd host of a Stack and the port its service answers on.
type Host struct {
	*sshdtest.Server
	Tier string
	Port int
}

// Stack is a stack of sshd hosts.
type Stack struct {
	Name string
	// Inventory, Config, KnownHosts and Identity are the files rollout.Connect is given.
	Inventory, Config, KnownHosts, Identity string
	Bastion                                 *sshdtest.Server
	// StateDir holds the deploy lock and audit log on the bastion.
	StateDir string
	Hosts    []Host
}

// StartStack starts a bastion and tiers[name] hosts per tier (each serving the test app once deployed).
func StartStack(t testing.TB, stack string, tiers map[string]int) *Stack {
	t.Helper()
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	s := &Stack{Name: stack, Identity: keys.PrivatePath, KnownHosts: filepath.Join(dir, "known_hosts"),
		Inventory: filepath.Join(dir, "inventory.yaml"), Config: filepath.Join(dir, "deploy.yaml")}
	s.Bastion = sshdtest.Start(t, stack+"-bastion", sshdtest.Options{Authorized: keys.Authorized})
	s.StateDir = filepath.Join(s.Bastion.Dir, "state")
	servers := []*sshdtest.Server{s.Bastion}
	names := make([]string, 0, len(tiers))
	for n := range tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	var inv, cfg strings.Builder
	fmt.Fprintf(&inv, "stack: %s\nuser: root\nbastion: {address: %q, stateDir: %q}\ntiers:\n", stack, s.Bastion.Addr, s.StateDir)
	cfg.WriteString("tiers:\n")
	for _, tier := range names {
		fmt.Fprintf(&inv, "  %s:\n    hosts:\n", tier)
		for i := 1; i <= tiers[tier]; i++ {
			srv := sshdtest.Start(t, fmt.Sprintf("%s-%s-%d", stack, tier, i), sshdtest.Options{Authorized: keys.Authorized})
			h := Host{Server: srv, Tier: tier, Port: sshdtest.ServicePort(t)}
			servers, s.Hosts = append(servers, srv), append(s.Hosts, h)
			fmt.Fprintf(&inv, "      - {name: %s, address: %q, root: %q, port: %d}\n", srv.Name, srv.Addr, srv.Root, h.Port)
			root := srv.Root
			t.Cleanup(func() { deploytest.StopApp(root) })
		}
		fmt.Fprintf(&cfg, "  %s:\n    binary: app\n    restart: [sh, %q, \"{root}\", \"{port}\"]\n    logs: [tail, -n, \"20\", \"{root}/app.log\"]\n"+
			"    health: {timeout: 1s, retries: 1000, interval: 25ms}\n", tier, deploytest.RestartScript())
	}
	sshdtest.WriteKnownHosts(t, s.KnownHosts, servers...)
	for p, data := range map[string]string{s.Inventory: inv.String(), s.Config: cfg.String()} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// Request connects to the stack with its files.
func (s *Stack) Request() rollout.Request {
	return rollout.Request{Stack: s.Name, Inventory: s.Inventory, Config: s.Config, KnownHosts: []string{s.KnownHosts},
		Identity: []string{s.Identity}, NoAgent: true}
}

// Connect connects to the stack with escrow as its release escrow (nil: none).
func (s *Stack) Connect(t testing.TB, escrow rollout.EscrowStore) *rollout.Conn {
	t.Helper()
	d := rollout.Deps{Getenv: func(k string) string {
		if k == "HOME" {
			return filepath.Dir(s.Inventory)
		}
		return ""
	}}
	if escrow != nil {
		d.Escrow = func(context.Context, rollout.EscrowRequest) (rollout.EscrowStore, error) { return escrow, nil }
	}
	c, err := rollout.Connect(context.Background(), d, s.Request())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Escrow is a release escrow on an S3 emulator: Emulator counts the bytes it receives and serves.
type Escrow struct {
	Emulator *deploytest.Store
	Store    *s3store.Store
	Config   deploy.StoreConfig
}

// StartEscrow serves an escrow bucket until the test ends.
func StartEscrow(t testing.TB) *Escrow {
	t.Helper()
	em := deploytest.StartStore(t)
	cfg := deploy.StoreConfig{Bucket: deploytest.StoreBucket, Region: "eu-west-1", Endpoint: em.URL, PathStyle: true}
	st, err := s3store.OpenWithKey(context.Background(), cfg, "escrow-test", "escrow-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	return &Escrow{Emulator: em, Store: st, Config: cfg}
}

// Replace overwrites key's object with data (a corrupted or replaced artifact).
func (e *Escrow) Replace(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := e.Emulator.Mem.PutObject(deploytest.StoreBucket, key, map[string]string{}, strings.NewReader(string(data)), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}
