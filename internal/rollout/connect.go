package rollout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/internal/sshx"
)

// ErrNoStackOutputs is returned when no provisioning backend can read a stack's outputs.
var ErrNoStackOutputs = errors.New("stack outputs unavailable: pass --inventory FILE, or provision the stack with plinth up first")

// Deps are the clients Connect uses (the Factory fills them).
type Deps struct {
	Getenv func(string) string
	// ProjectDir holds deploy.yaml (nil: no default config).
	ProjectDir func() (string, error)
	// StackOutputs reads a stack's outputs (nil: ErrNoStackOutputs without --inventory).
	StackOutputs func(ctx context.Context, stack string) (map[string]any, error)
	// Clouds resolves the stack's cloud.
	Clouds cloud.Clouds
	// Escrow opens the stack's release escrow (nil: no escrow is kept).
	Escrow EscrowOpener
}

// Connect builds the Conn of req: the inventory (--inventory, else the stack's outputs resolved through its
// cloud), the deploy config, the SSH runner (through the bastion unless it is direct; keys and known_hosts
// from the flags, else the cloud's, else the operator's own), the lock/audit state and the drainers.
func Connect(ctx context.Context, d Deps, req Request) (*Conn, error) {
	var c cloud.Cloud
	var inv *inventory.Inventory
	var outputs map[string]any
	if req.Inventory != "" {
		i, err := inventory.File{Path: req.Inventory}.Inventory(ctx, req.Stack)
		if err != nil {
			return nil, invalid(err)
		}
		inv = i
	} else {
		if d.StackOutputs == nil {
			return nil, ErrNoStackOutputs
		}
		var err error
		if outputs, err = d.StackOutputs(ctx, req.Stack); err != nil {
			return nil, err
		}
		if c, err = d.Clouds.For(ctx, req.Stack, req.Cloud); err != nil {
			return nil, err
		}
		if inv, err = c.Hosts(ctx, req.Stack, outputs); err != nil {
			return nil, err
		}
	}
	cfg, err := LoadConfig(d.ProjectDir, req.Config)
	if err != nil {
		return nil, invalid(err)
	}
	// Pull staging's store: deploy.yaml's, else the stack's release escrow (its inventory's releaseEscrow).
	cfg.Store = cfg.StoreFor(inv)
	var access cloud.SSHAccess
	if c != nil {
		if access, err = c.SSHAccess(ctx, req.Stack); err != nil {
			return nil, err
		}
	}
	getenv := d.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if access.BastionStateDir != "" && inv.Bastion != nil {
		inv.Bastion.StateDir = access.BastionStateDir
	}
	sc := sshConfig(getenv, req, cfg, access)
	if inv.Bastion != nil && !inv.Bastion.Direct {
		b := inv.Bastion.Host
		sc.Bastion = &b
	}
	r, err := sshx.New(sc)
	if err != nil {
		return nil, err
	}
	conn := &Conn{Inventory: inv, Config: cfg, Runner: r, StepTimeout: cmp.Or(req.StepTimeout, cfg.StepTimeout),
		Parallel: cmp.Or(req.Parallel, cfg.Parallel), Close: func() { _ = r.Close() }}
	if inv.Bastion != nil {
		conn.State = deploy.State{Runner: r, Host: inv.Bastion.Host, Dir: inv.Bastion.StateDir}
	} else {
		// No bastion (on-premise, one operator): lock and audit log on this machine.
		dir := filepath.Join(getenv("HOME"), ".local", "state", "plinth")
		conn.State = deploy.State{Runner: local.Runner{}, Host: inventory.Host{Name: "localhost"}, Dir: dir}
	}
	conn.Drainer = func(ctx context.Context, tier string) (deploy.Drainer, error) {
		return chooseDrainer(ctx, conn, c, tier)
	}
	conn.Escrow, conn.EscrowErr = openEscrow(ctx, d.Escrow, EscrowRequest{Stack: req.Stack, Inventory: inv, Outputs: outputs}, c)
	return conn, nil
}

// sshConfig: flags first, then what the cloud says, then the operator's defaults.
func sshConfig(getenv func(string) string, req Request, cfg *deploy.Config, access cloud.SSHAccess) sshx.Config {
	home := getenv("HOME")
	sc := sshx.Config{KnownHosts: req.KnownHosts, IdentityFiles: req.Identity, DialTimeout: req.Timeout, Compress: req.Compress,
		UploadWindow: int64(req.WindowKiB) << 10, KeepAlive: cmp.Or(req.KeepAlive, cfg.KeepAlive)}
	if req.WindowKiB == 0 {
		sc.UploadWindow = -1 // unpaced
	}
	if len(sc.KnownHosts) == 0 {
		sc.KnownHosts = access.KnownHosts
	}
	if len(sc.KnownHosts) == 0 {
		sc.KnownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	if len(sc.IdentityFiles) == 0 {
		sc.IdentityFiles = access.IdentityFiles
	}
	if sock := getenv("SSH_AUTH_SOCK"); sock != "" && !req.NoAgent {
		sc.AgentSocket = sock
	}
	if len(sc.IdentityFiles) == 0 && sc.AgentSocket == "" {
		if p := filepath.Join(home, ".ssh", "id_ed25519"); fileExists(p) {
			sc.IdentityFiles = []string{p}
		}
	}
	return sc
}

// LoadConfig reads path, or deploy.yaml in the project directory (absent: the defaults).
func LoadConfig(projectDir func() (string, error), path string) (*deploy.Config, error) {
	if path == "" && projectDir != nil {
		if dir, err := projectDir(); err == nil {
			if p := filepath.Join(dir, "deploy.yaml"); fileExists(p) {
				path = p
			}
		}
	}
	if path == "" {
		return &deploy.Config{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deploy config: %w", err)
	}
	return deploy.ParseConfig(data)
}

// chooseDrainer: the tier's config decides (alb, haproxy through a host's SSH connection, none); by
// default the stack's cloud drains the tier behind its load balancer (an ALB target group on AWS, the
// local HAProxy's runtime API on the live local cloud), and an inventory file's tier with a target group
// drains through the ALB.
func chooseDrainer(ctx context.Context, conn *Conn, c cloud.Cloud, tier string) (deploy.Drainer, error) {
	cfg := conn.Config.Tier(tier).LoadBalancer
	t, err := conn.Inventory.Tier(tier)
	if err != nil {
		return nil, usagef("--tier: %v", err)
	}
	kind := cfg.Kind
	if kind == "" {
		if c != nil {
			return c.Drainer(ctx, conn.Inventory.Stack, t)
		}
		if t.TargetGroupARN != "" {
			kind = "alb"
		}
	}
	switch kind {
	case "", "none":
		return nil, nil
	case "alb":
		if t.TargetGroupARN == "" {
			return nil, fmt.Errorf("tier %s: loadBalancer alb but the inventory has no targetGroupArn", tier)
		}
		return cloud.NewAWS().Drainer(ctx, conn.Inventory.Stack, t)
	case "haproxy":
		via, err := viaHost(conn.Inventory, cfg.Via)
		if err != nil {
			return nil, fmt.Errorf("tier %s: loadBalancer: %w", tier, err)
		}
		backend := cmp.Or(cfg.Backend, tier)
		socket := cfg.Socket
		dialer, ok := conn.Runner.(interface {
			DialContext(ctx context.Context, h inventory.Host, network, addr string) (net.Conn, error)
		})
		if !ok {
			return nil, fmt.Errorf("tier %s: loadBalancer haproxy: the runner cannot reach %s's socket", tier, via.Name)
		}
		return lb.HAProxy{
			Dial: func(ctx context.Context) (net.Conn, error) {
				return dialer.DialContext(ctx, via, "unix", socket)
			},
			Backends: map[string]string{tier: backend},
		}, nil
	}
	return nil, fmt.Errorf("tier %s: loadBalancer.kind %q", tier, kind)
}

func viaHost(inv *inventory.Inventory, name string) (inventory.Host, error) {
	if name == "" || name == "bastion" {
		if inv.Bastion == nil {
			return inventory.Host{}, fmt.Errorf("haproxy via the bastion, but the inventory has no bastion")
		}
		return inv.Bastion.Host, nil
	}
	for _, tn := range inv.TierNames() {
		for _, h := range inv.Tiers[tn].Hosts {
			if h.Name == name {
				return h, nil
			}
		}
	}
	return inventory.Host{}, fmt.Errorf("via %q: no such host", name)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
