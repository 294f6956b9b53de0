package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// conn is n app "hosts" that are directories on this machine (deploy/local), serving the test app, behind
// an in-memory load balancer.
func conn(t *testing.T, n int) (*Conn, *lbtest.Memory) {
	t.Helper()
	dir := t.TempDir()
	tier := &inventory.Tier{Name: "app"}
	for i := 1; i <= n; i++ {
		root := filepath.Join(dir, fmt.Sprintf("app-%d", i))
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: fmt.Sprintf("app-%d", i), Address: "127.0.0.1:22", Root: root, Port: sshdtest.ServicePort(t)})
		t.Cleanup(func() { deploytest.StopApp(root) })
	}
	inv := &inventory.Inventory{Stack: "staging", Tiers: map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	mem := &lbtest.Memory{}
	tc := deploytest.TierConfig()
	tc.Health.Retries = 1000 // patience for a machine loaded by other test runs (25 ms apart: 25 s)
	return &Conn{Inventory: inv, Config: &deploy.Config{Tiers: map[string]deploy.TierConfig{"app": tc}},
		Runner: local.Runner{}, Close: func() {},
		State:   deploy.State{Runner: local.Runner{}, Host: inventory.Host{Name: "localhost"}, Dir: filepath.Join(dir, "state")},
		Drainer: func(context.Context, string) (deploy.Drainer, error) { return mem, nil }}, mem
}

// TestDeploySkipsATierThatRunsTheRelease: the second deploy of the same artifact and version locks nothing,
// sends nothing and restarts nothing; a new artifact under a new version deploys.
func TestDeploySkipsATierThatRunsTheRelease(t *testing.T) {
	c, _ := conn(t, 2)
	ctx := context.Background()
	v1 := deploytest.BuildApp(t, "v1", true, 0)
	req := DeployRequest{Tier: "app", Artifact: v1, Version: "v1", Holder: "test"}
	res, err := Deploy(ctx, c, req)
	if err != nil || len(res) != 1 || res[0].Unchanged || len(res[0].Outcomes[0].Switched) != 2 {
		t.Fatalf("first deploy: %+v %v", res, err)
	}
	before, _ := c.State.History(ctx, 10)
	var events []deploy.Event
	req.Emit = func(e deploy.Event) { events = append(events, e) }
	res, err = Deploy(ctx, c, req)
	if err != nil || len(res) != 1 || !res[0].Unchanged || res[0].Outcomes[0].BytesSent != 0 || len(events) != 0 {
		t.Fatalf("second deploy: %+v %v, %d events", res, err, len(events))
	}
	if after, _ := c.State.History(ctx, 10); len(after) != len(before) {
		t.Errorf("audit records %d, then %d: an unchanged tier takes no lock and records nothing", len(before), len(after))
	}
	v2 := deploytest.BuildApp(t, "v2", true, 0)
	res, err = Deploy(ctx, c, DeployRequest{Tier: "app", Artifact: v2, Version: "v2", Holder: "test"})
	if err != nil || res[0].Unchanged || len(res[0].Outcomes[0].Switched) != 2 {
		t.Fatalf("v2: %+v %v", res, err)
	}
}

// TestAWholeTierBatchIsNotDrained: a one-host tier stays in its load balancer during its restart (draining
// it would fail every request of the restart) and is enabled after its health check; a two-host tier
// drains each host of its batches.
func TestAWholeTierBatchIsNotDrained(t *testing.T) {
	for n, wantOut := range map[int]bool{1: false, 2: true} {
		c, mem := conn(t, n)
		drained := false
		c.Drainer = func(context.Context, string) (deploy.Drainer, error) { return spy{mem, &drained}, nil }
		res, err := Deploy(context.Background(), c, DeployRequest{Tier: "app", Artifact: deploytest.BuildApp(t, "v1", true, 0), Version: "v1"})
		if err != nil || drained != wantOut {
			t.Errorf("%d host(s): %v, taken out of the load balancer: %v, want %v", n, err, drained, wantOut)
		}
		for _, h := range c.Inventory.Tiers["app"].Hosts {
			if !mem.InService("app", h) {
				t.Errorf("%d host(s): %s not in service after the deploy (%+v)", n, h.Name, res)
			}
		}
	}
}

// spy records whether a host was taken out.
type spy struct {
	*lbtest.Memory
	drained *bool
}

func (s spy) Drain(ctx context.Context, tier string, h inventory.Host) error {
	*s.drained = true
	return s.Memory.Drain(ctx, tier, h)
}

// TestBadRequestsAreUsageErrors: an unknown tier, an unreadable artifact and a tier without one are
// ErrUsage (exit 2) and name what is wrong.
func TestBadRequestsAreUsageErrors(t *testing.T) {
	c, _ := conn(t, 1)
	for name, req := range map[string]DeployRequest{
		`--tier: tier "db"`:     {Tier: "db", Artifact: "/etc/hostname", Version: "v1"},
		"--artifact":            {Tier: "app", Artifact: filepath.Join(t.TempDir(), "none"), Version: "v1"},
		"tier app: no artifact": {Tier: "app", Version: "v1"},
	} {
		_, err := Deploy(context.Background(), c, req)
		if !errors.Is(err, ErrUsage) || errors.Is(err, ErrInvalid) || !containsPrefix(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Rollback(context.Background(), c, RollbackRequest{Tier: "db"}); !errors.Is(err, ErrUsage) {
		t.Errorf("rollback of an unknown tier: %v", err)
	}
}

func containsPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// TestSSHAccessPrecedence: flags win, then what the stack's cloud says, then the operator's defaults.
func TestSSHAccessPrecedence(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"HOME": "/home/op", "SSH_AUTH_SOCK": "/run/agent"}[k]
	}
	cfg := &deploy.Config{KeepAlive: 3 * time.Second}
	access := cloud.SSHAccess{IdentityFiles: []string{"/live/operator_ed25519"}, KnownHosts: []string{"/live/known_hosts"}}
	sc := sshConfig(env, Request{}, cfg, access)
	if !slices.Equal(sc.IdentityFiles, access.IdentityFiles) || !slices.Equal(sc.KnownHosts, access.KnownHosts) || sc.KeepAlive != 3*time.Second {
		t.Errorf("cloud access: %+v", sc)
	}
	sc = sshConfig(env, Request{Identity: []string{"k"}, KnownHosts: []string{"kh"}, NoAgent: true}, cfg, access)
	if !slices.Equal(sc.IdentityFiles, []string{"k"}) || !slices.Equal(sc.KnownHosts, []string{"kh"}) || sc.AgentSocket != "" {
		t.Errorf("flags: %+v", sc)
	}
	sc = sshConfig(env, Request{}, cfg, cloud.SSHAccess{})
	if !slices.Equal(sc.KnownHosts, []string{"/home/op/.ssh/known_hosts"}) || sc.AgentSocket != "/run/agent" {
		t.Errorf("defaults: %+v", sc)
	}
}

// TestConnectNeedsOutputsOrAnInventory: without a stack backend and --inventory, one line says what to pass.
func TestConnectNeedsOutputsOrAnInventory(t *testing.T) {
	if _, err := Connect(context.Background(), Deps{}, Request{Stack: "staging"}); !errors.Is(err, ErrNoStackOutputs) {
		t.Errorf("got %v", err)
	}
	_, err := Connect(context.Background(), Deps{}, Request{Stack: "staging", Inventory: filepath.Join(t.TempDir(), "none.yaml")})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("missing inventory file: %v", err)
	}
}

// TestConnectToALiveLocalStack: a stack recorded in the local cloud connects with what its live platform
// says — hosts by tier (not running ones left out), the published bastion with the lock in the login
// user's home, the operator key and known_hosts — and drains the target group's tier through HAProxy.
func TestConnectToALiveLocalStack(t *testing.T) {
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := &cloud.LiveStack{Stack: "staging", Bastion: "127.0.0.1:40022", SSHUser: "ec2-user", OperatorKey: keys.PrivatePath,
		KnownHosts: known, AdminSocket: filepath.Join(dir, "admin.sock"), Backend: "app", Hosts: []cloud.LiveHost{
			{Name: "app-1", Tier: "app", Address: "10.10.64.10", State: "running"},
			{Name: "app-2", Tier: "app", Address: "10.10.65.10", State: "degraded"},
			{Name: "worker-1", Tier: "worker", Address: "10.10.64.11", State: "running"}}}
	d := Deps{
		StackOutputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"inventory": map[string]any{"stack": "staging", "bastion": map[string]any{"sshUser": "ec2-user"},
				"tiers": map[string]any{"app": map[string]any{"targetGroupArn": "arn:tg", "port": 8080}, "worker": map[string]any{"port": 9090}}}}, nil
		},
		Clouds: cloud.Clouds{Recorded: func(context.Context, string) (string, error) { return cloud.Local, nil },
			Live: func(context.Context, string) (*cloud.LiveStack, error) { return st, nil }},
	}
	c, err := Connect(context.Background(), d, Request{Stack: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	app := c.Inventory.Tiers["app"]
	if len(app.Hosts) != 1 || app.Hosts[0].Name != "app-1" || app.Hosts[0].Address != "10.10.64.10:22" || app.Hosts[0].User != "ec2-user" ||
		app.Hosts[0].Port != 8080 || app.Hosts[0].Root != "/srv/plinth/app" {
		t.Errorf("app tier %+v", app)
	}
	if c.Inventory.Bastion.Address != "127.0.0.1:40022" || c.State.Dir != "/home/ec2-user/plinth-state" || c.State.Host.Name != "bastion" {
		t.Errorf("bastion %+v, state %+v", c.Inventory.Bastion, c.State)
	}
	dr, err := c.Drainer(context.Background(), "app")
	if h, ok := dr.(lb.HAProxy); err != nil || !ok || h.Backends["app"] != "app" {
		t.Errorf("app drainer %#v %v", dr, err)
	}
	if dr, err := c.Drainer(context.Background(), "worker"); dr != nil || err != nil {
		t.Errorf("worker drainer %#v %v", dr, err)
	}
	if _, err := Connect(context.Background(), d, Request{Stack: "staging", Cloud: cloud.AWS}); !errors.Is(err, cloud.ErrCloudMismatch) {
		t.Errorf("--cloud aws on a local stack: %v", err)
	}
}
