package cloud

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// LiveStatus reads a stack's live platform (nil, nil: the stack runs no live platform).
type LiveStatus func(ctx context.Context, stack string) (*LiveStack, error)

// LiveStack is what the live local cloud reports of one stack (the status JSON of internal/localcloud/live).
type LiveStack struct {
	Stack string
	// Bastion is the published SSH address (127.0.0.1:port) the admins' network reaches the bastion at.
	Bastion string
	// SSHUser is the login user of every host; OperatorKey the private key they accept; KnownHosts a
	// known_hosts file naming every host's address and the published bastion.
	SSHUser, OperatorKey, KnownHosts string
	// AdminSocket is HAProxy's runtime API (a unix socket on this machine); Backend its backend of the
	// target group's tier.
	AdminSocket, Backend string
	Hosts                []LiveHost
}

// LiveHost is one live host: its name (also its HAProxy server name), tier, address and state.
type LiveHost struct {
	Name, Tier, Address, State string
}

// LocalCloud is a stack provisioned with `plinth up --cloud local`. When its platform is live (Live reads
// it), deploy reaches its hosts through the published bastion with the operator key plinth generated and
// drains through the local HAProxy; otherwise its resources are records and real targets must be passed.
type LocalCloud struct {
	Live LiveStatus
}

// Name is Local.
func (LocalCloud) Name() string { return Local }

// live returns the stack's live platform, or an ErrNotLive error saying what to do instead.
func (c LocalCloud) live(ctx context.Context, stack string) (*LiveStack, error) {
	var st *LiveStack
	if c.Live != nil {
		s, err := c.Live(ctx, stack)
		if err != nil {
			return nil, fmt.Errorf("stack %s: live local cloud: %w", stack, err)
		}
		st = s
	}
	if st == nil {
		return nil, fmt.Errorf("stack %s lives in the local cloud, whose instances are records, not hosts (%w): run `plinth up --stack %s --cloud local` as root to make it live, or pass --inventory FILE to deploy to real hosts", stack, ErrNotLive, stack)
	}
	return st, nil
}

// Hosts are the live platform's running hosts of each tier the stack's inventory output names, reached
// through the published bastion.
func (c LocalCloud) Hosts(ctx context.Context, stack string, outputs map[string]any) (*inventory.Inventory, error) {
	st, err := c.live(ctx, stack)
	if err != nil {
		return nil, err
	}
	out, err := inventory.ParseOutputs(outputs)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", stack, err)
	}
	return LiveInventory(stack, out, st)
}

// LiveInventory joins a stack's inventory output (tiers, ports, target groups) with its live hosts: the
// running hosts of each tier, the published bastion (lock and audit log in the login user's home: the
// hosts' /var/lib is not theirs to write).
func LiveInventory(stack string, out *contract.Inventory, st *LiveStack) (*inventory.Inventory, error) {
	user := st.SSHUser
	if user == "" {
		user = out.Bastion.SSHUser
	}
	inv := &inventory.Inventory{Stack: stack, User: user, Tiers: map[string]*inventory.Tier{}}
	if st.Bastion == "" {
		return nil, fmt.Errorf("stack %s: the live platform publishes no bastion", stack)
	}
	inv.Bastion = &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: st.Bastion}, StateDir: BastionStateDir(user)}
	names := make([]string, 0, len(out.Tiers))
	for n := range out.Tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := out.Tiers[name]
		t := &inventory.Tier{Name: name, Port: spec.Port, Min: spec.Min, TargetGroupARN: spec.TargetGroupARN}
		for _, h := range st.Hosts {
			if h.Tier != name || h.State != "running" {
				continue
			}
			t.Hosts = append(t.Hosts, inventory.Host{Name: h.Name, Address: net.JoinHostPort(h.Address, strconv.Itoa(22))})
		}
		inv.Tiers[name] = t
	}
	if err := inv.Normalize(); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", stack, err)
	}
	return inv, nil
}

// BastionStateDir is where a live bastion keeps the deploy lock and audit log.
func BastionStateDir(user string) string { return "/home/" + user + "/plinth-state" }

// SSHAccess is the operator key plinth generated and the platform's known_hosts.
func (c LocalCloud) SSHAccess(ctx context.Context, stack string) (SSHAccess, error) {
	st, err := c.live(ctx, stack)
	if err != nil {
		return SSHAccess{}, err
	}
	a := SSHAccess{BastionStateDir: BastionStateDir(st.SSHUser)}
	if st.OperatorKey != "" {
		a.IdentityFiles = []string{st.OperatorKey}
	}
	if st.KnownHosts != "" {
		a.KnownHosts = []string{st.KnownHosts}
	}
	return a, nil
}

// Drainer drains the target group's tier through the local HAProxy's runtime API (set server
// <backend>/<host> state drain|ready); nil for other tiers.
func (c LocalCloud) Drainer(ctx context.Context, stack string, tier *inventory.Tier) (deploy.Drainer, error) {
	if tier == nil || tier.TargetGroupARN == "" {
		return nil, nil
	}
	st, err := c.live(ctx, stack)
	if err != nil {
		return nil, err
	}
	if st.AdminSocket == "" {
		return nil, fmt.Errorf("stack %s tier %s: the live load balancer has no admin socket", stack, tier.Name)
	}
	backend := st.Backend
	if backend == "" {
		backend = tier.Name
	}
	return lb.HAProxy{Dial: lb.UnixSocket(st.AdminSocket), Backends: map[string]string{tier.Name: backend}}, nil
}

// DatabaseAddr refuses: the stack's database is a record.
func (LocalCloud) DatabaseAddr(stack string, _ *contract.Inventory) (string, error) {
	return "", fmt.Errorf("stack %s lives in the local cloud, whose database is a record, not a server (%w): pass --dsn DSN", stack, ErrNotLive)
}

// BackupStore refuses: the stack's vault bucket is a record.
func (LocalCloud) BackupStore(stack string, _ *contract.Inventory) (string, error) {
	return "", fmt.Errorf("stack %s lives in the local cloud, whose backup vault is a record, not a bucket (%w): pass --store URL (e.g. file:///var/backups/plinth)", stack, ErrNotLive)
}
