// Package inventory says which hosts make up each tier of a stack. Two sources: a plain YAML file (tests,
// on-premise) and the stack's `inventory` output resolved through the cloud API (ASG instances).
// Parsing and validation are pure; the cloud lookups live behind small interfaces.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
)

// Host is one machine reachable over SSH.
type Host struct {
	// Name identifies the host in plans, logs and errors (app-1, i-0abc...). Also the HAProxy server name.
	Name string `yaml:"name" json:"name"`
	// Address is host:port of its sshd.
	Address string `yaml:"address" json:"address"`
	// User is the SSH user (default: the inventory's user).
	User string `yaml:"user,omitempty" json:"user,omitempty"`
	// Root is the release root on the host: <root>/releases/<version>, <root>/current (default /srv/plinth/<tier>).
	Root string `yaml:"root,omitempty" json:"root,omitempty"`
	// Port is the service's HTTP port on the host, health-checked on 127.0.0.1 (default: the tier's port).
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// TargetID is the load balancer's id for the host (EC2 instance id for ALB target groups).
	TargetID string `yaml:"targetId,omitempty" json:"targetId,omitempty"`
}

// Bastion is the single monitored access point: hosts are reached through it (ProxyJump) and it holds
// the deploy lock and the audit log.
type Bastion struct {
	Host `yaml:",inline"`
	// Direct, when true, reaches tier hosts without jumping through the bastion (same network, benchmarks);
	// the bastion still holds the lock and the audit log.
	Direct bool `yaml:"direct,omitempty" json:"direct,omitempty"`
	// StateDir holds locks/ and audit.jsonl on the bastion (default /var/lib/plinth).
	StateDir string `yaml:"stateDir,omitempty" json:"stateDir,omitempty"`
}

// Tier is a group of identical hosts behind (optionally) a load balancer target group.
type Tier struct {
	Name           string `yaml:"-" json:"name"`
	Port           int    `yaml:"port,omitempty" json:"port,omitempty"`
	Min            int    `yaml:"min,omitempty" json:"min,omitempty"`
	TargetGroupARN string `yaml:"targetGroupArn,omitempty" json:"targetGroupArn,omitempty"`
	Hosts          []Host `yaml:"hosts" json:"hosts"`
}

// Inventory is every host of one stack.
type Inventory struct {
	Stack   string           `yaml:"stack" json:"stack"`
	User    string           `yaml:"user,omitempty" json:"user,omitempty"`
	Bastion *Bastion         `yaml:"bastion,omitempty" json:"bastion,omitempty"`
	Tiers   map[string]*Tier `yaml:"tiers" json:"tiers"`
	// ReleaseEscrow is the stack's bucket of released artifacts (the stack output's releaseEscrow), the
	// default store of pull staging (deploy.Config.StoreFor); nil when the stack has none.
	ReleaseEscrow *ReleaseEscrow `yaml:"releaseEscrow,omitempty" json:"releaseEscrow,omitempty"`
}

// ReleaseEscrow is an S3 bucket holding artifacts under their content-addressed keys (artifacts/...).
type ReleaseEscrow struct {
	Bucket string `yaml:"bucket" json:"bucket"`
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
}

// Source loads the inventory of a stack.
type Source interface {
	Inventory(ctx context.Context, stack string) (*Inventory, error)
}

// DefaultUser is the SSH user when neither host nor inventory names one.
const DefaultUser = "plinth"

// ErrUnknownTier is returned by Tier for a tier the inventory does not have.
var ErrUnknownTier = errors.New("unknown tier")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// TierNames returns the tier names in a stable order.
func (inv *Inventory) TierNames() []string {
	names := make([]string, 0, len(inv.Tiers))
	for n := range inv.Tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tier returns the named tier.
func (inv *Inventory) Tier(name string) (*Tier, error) {
	t, ok := inv.Tiers[name]
	if !ok {
		return nil, fmt.Errorf("tier %q: %w (have %v)", name, ErrUnknownTier, inv.TierNames())
	}
	return t, nil
}

// Normalize fills defaults (user, root, port, names) and validates; it returns every problem at once.
func (inv *Inventory) Normalize() error {
	var errs []error
	if inv.User == "" {
		inv.User = DefaultUser
	}
	if inv.Bastion != nil {
		b := inv.Bastion
		if b.Name == "" {
			b.Name = "bastion"
		}
		if b.User == "" {
			b.User = inv.User
		}
		if b.StateDir == "" {
			b.StateDir = "/var/lib/plinth"
		}
		b.Address = withPort(b.Address)
		if err := checkAddress(b.Address); err != nil {
			errs = append(errs, fmt.Errorf("bastion: %w", err))
		}
	}
	if inv.ReleaseEscrow != nil && inv.ReleaseEscrow.Bucket == "" {
		errs = append(errs, errors.New("releaseEscrow: bucket is required"))
	}
	if len(inv.Tiers) == 0 {
		errs = append(errs, errors.New("no tiers"))
	}
	seen := map[string]string{}
	for _, name := range inv.TierNames() {
		t := inv.Tiers[name]
		if t == nil {
			errs = append(errs, fmt.Errorf("tier %s: empty", name))
			continue
		}
		t.Name = name
		if !nameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("tier %q: invalid name", name))
		}
		for i := range t.Hosts {
			h := &t.Hosts[i]
			if h.Name == "" {
				h.Name = name + "-" + strconv.Itoa(i+1)
			}
			if !nameRE.MatchString(h.Name) {
				errs = append(errs, fmt.Errorf("tier %s host %q: invalid name", name, h.Name))
			}
			if prev, dup := seen[h.Name]; dup {
				errs = append(errs, fmt.Errorf("tier %s host %s: name already used in tier %s", name, h.Name, prev))
			}
			seen[h.Name] = name
			if h.User == "" {
				h.User = inv.User
			}
			if h.Root == "" {
				h.Root = "/srv/plinth/" + name
			}
			if h.Port == 0 {
				h.Port = t.Port
			}
			h.Address = withPort(h.Address)
			if err := checkAddress(h.Address); err != nil {
				errs = append(errs, fmt.Errorf("tier %s host %s: %w", name, h.Name, err))
			}
			if h.Root[0] != '/' {
				errs = append(errs, fmt.Errorf("tier %s host %s: root %q must be absolute", name, h.Name, h.Root))
			}
		}
	}
	return errors.Join(errs...)
}

func withPort(addr string) string {
	if addr == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, "22")
}

func checkAddress(addr string) error {
	if addr == "" {
		return errors.New("address is empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: empty host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("address %q: bad port", addr)
	}
	return nil
}
