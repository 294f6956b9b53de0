// Package live is the live local cloud: real processes on this machine playing the platform's parts. Every
// host is a network namespace (named plt-<platform>-<host>) with its own mount namespace holding the host's
// private directories, a real OpenSSH sshd configured by components/userdata (the renderer the EC2 user data
// uses) and the tier's service run by a small supervisor; each VPC is a bridge with no uplink, no NAT and no
// route from the root namespace; security groups are nftables rulesets loaded in each host's namespace; the
// load balancer is a real HAProxy with a certificate from a local CA; 127.0.0.1 ports publish the load
// balancer's 443 and 80 and the bastion's 22, reached from an "edge" namespace that plays the internet and
// the admins' network.
//
// One file per part: host, network, firewall, lb, supervisor, publish; platform reconciles a desired State
// (what the engine created) into running parts. It needs root (namespaces); Check says why it cannot run.
package live

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/plinth-dev/plinth/components/userdata"
)

// State is the desired platform: what the engine has created, in the terms the live parts need.
type State struct {
	// SSHUser is the login user on every host; AuthorizedKeys the published keys (the SSM parameter).
	SSHUser        string
	AuthorizedKeys string
	// AdminCIDRs are the networks the admin rule of the bastion's group names (the edge namespace takes an
	// address in the first one).
	AdminCIDRs []netip.Prefix
	VPCs       []VPC
	Groups     []SecurityGroup
	Hosts      []Host
	// LB is the load balancer, nil when there is none.
	LB *LoadBalancer
}

// VPC is one network: a bridge.
type VPC struct {
	Name string
	CIDR netip.Prefix
}

// SecurityGroup is a group and its rules, as the engine created them.
type SecurityGroup struct {
	ID      string
	Tier    string // for names and pictures
	Ingress []Rule
	Egress  []Rule
}

// Rule allows TCP on ports FromPort..ToPort from (ingress) or to (egress) a CIDR or the members of a group.
type Rule struct {
	Protocol string // tcp (the only protocol the platform's groups use)
	FromPort int
	ToPort   int
	CIDR     netip.Prefix // valid when set
	Group    string       // referenced security group id, when CIDR is not set
	Purpose  string
}

// Host is one instance: the bastion, an auto scaling group's member, or a managed service's node.
type Host struct {
	Name    string
	Tier    string
	VPC     string
	Address netip.Addr
	// Subnet, when set, is where a replacement of this host takes its address (Heal).
	Subnet netip.Prefix
	// Public hosts (bastion, load balancer) have a route to the internet (the edge namespace).
	Public bool
	Groups []string
	// SSH runs sshd (instances); managed services' nodes have none.
	SSH bool
	// Bastion allows forwarding to 22 and 3306 (components/userdata).
	Bastion bool
	// Service, when set, is the tier's unit run under the supervisor.
	Service *userdata.Service
	// Backup, when set, are the worker tier's backup units (backupunits.go): a timer firing `plinth backup
	// run` and the binlog streamer, as the units' user with the vault's writer identity.
	Backup *userdata.Backup
}

// LoadBalancer is the ALB with its listeners and app target group.
type LoadBalancer struct {
	Name    string
	VPC     string
	Address netip.Addr
	Groups  []string
	// DNSName is put in the certificate with localhost and 127.0.0.1.
	DNSName string
	Target  TargetGroup
}

// TargetGroup is where HTTPS goes: Port on Targets, checked on HealthPath every IntervalSeconds.
type TargetGroup struct {
	Port               int
	HealthPath         string
	IntervalSeconds    int
	HealthyThreshold   int
	UnhealthyThreshold int
	Targets            []string // host names
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)
	// healthPathRE keeps the health check's path one HAProxy word: visible ASCII, no spaces or quotes.
	healthPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*$`)
)

// Validate reports every problem at once, each naming its object.
func (s State) Validate() error {
	var errs []error
	vpcs := map[string]VPC{}
	for _, v := range s.VPCs {
		if !nameRE.MatchString(v.Name) || !v.CIDR.IsValid() || !v.CIDR.Addr().Is4() {
			errs = append(errs, fmt.Errorf("vpc %q: want a short lower-case name and an IPv4 CIDR (got %s)", v.Name, v.CIDR))
		}
		vpcs[v.Name] = v
	}
	groups := map[string]bool{}
	for _, g := range s.Groups {
		groups[g.ID] = true
	}
	for _, g := range s.Groups {
		for _, r := range append(append([]Rule{}, g.Ingress...), g.Egress...) {
			if r.Protocol != "tcp" || r.FromPort < 1 || r.ToPort < r.FromPort || r.ToPort > 65535 {
				errs = append(errs, fmt.Errorf("security group %s: rule %s %d-%d: want tcp and ports 1-65535", g.ID, r.Protocol, r.FromPort, r.ToPort))
			}
			if !r.CIDR.IsValid() && !groups[r.Group] {
				errs = append(errs, fmt.Errorf("security group %s: rule port %d: unknown group %q", g.ID, r.FromPort, r.Group))
			}
		}
	}
	addrs := map[netip.Addr]string{}
	checkAddr := func(what, name, vpc string, a netip.Addr, gs []string) {
		v, ok := vpcs[vpc]
		switch {
		case !nameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("%s %q: want a short lower-case name", what, name))
		case !ok:
			errs = append(errs, fmt.Errorf("%s %s: unknown vpc %q", what, name, vpc))
		case !v.CIDR.Contains(a) || a == v.CIDR.Masked().Addr():
			errs = append(errs, fmt.Errorf("%s %s: address %s is not a host address of vpc %s (%s)", what, name, a, vpc, v.CIDR))
		case addrs[a] != "":
			errs = append(errs, fmt.Errorf("%s %s: address %s already belongs to %s", what, name, a, addrs[a]))
		}
		addrs[a] = name
		for _, g := range gs {
			if !groups[g] {
				errs = append(errs, fmt.Errorf("%s %s: unknown security group %q", what, name, g))
			}
		}
	}
	names := map[string]bool{}
	for _, h := range s.Hosts {
		if names[h.Name] {
			errs = append(errs, fmt.Errorf("host %s: duplicate name", h.Name))
		}
		names[h.Name] = true
		checkAddr("host", h.Name, h.VPC, h.Address, h.Groups)
		if h.Subnet.IsValid() && !h.Subnet.Contains(h.Address) {
			errs = append(errs, fmt.Errorf("host %s: address %s is not in its subnet %s", h.Name, h.Address, h.Subnet))
		}
		if h.Service != nil {
			if err := h.Service.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
			}
		}
	}
	if s.LB != nil {
		checkAddr("load balancer", s.LB.Name, s.LB.VPC, s.LB.Address, s.LB.Groups)
		if names[s.LB.Name] {
			errs = append(errs, fmt.Errorf("load balancer %s: a host has the same name", s.LB.Name))
		}
		t := s.LB.Target
		if t.Port < 1 || t.Port > 65535 || t.IntervalSeconds < 1 || !healthPathRE.MatchString(t.HealthPath) {
			errs = append(errs, fmt.Errorf("load balancer %s: target group: want a port, an interval >= 1s and a health path", s.LB.Name))
		}
		for _, n := range t.Targets {
			if !names[n] {
				errs = append(errs, fmt.Errorf("load balancer %s: target %q is not a host", s.LB.Name, n))
			}
		}
	}
	if strings.Contains(s.AuthorizedKeys, keysDelimiter) {
		errs = append(errs, fmt.Errorf("authorizedKeys: must not contain %s", keysDelimiter))
	}
	if len(s.Hosts) > 0 && !nameRE.MatchString(s.SSHUser) {
		errs = append(errs, fmt.Errorf("sshUser %q: want a POSIX user name", s.SSHUser))
	}
	return errors.Join(errs...)
}

// ErrUnsupported is returned (wrapped, with the reason) where the live cloud cannot run: not root, no
// network namespaces. The caller keeps the bookkeeping cloud.
var ErrUnsupported = errors.New("live local cloud unavailable")

// Check says whether this machine can run the live cloud, in one line when it cannot.
func Check() error { return check(os.Geteuid(), statErr) }

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}

func check(euid int, stat func(string) error) error {
	if euid != 0 {
		return fmt.Errorf("%w: network namespaces need root (running as uid %d); --cloud local keeps the bookkeeping cloud", ErrUnsupported, euid)
	}
	if err := stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("%w: no network namespace support: %v", ErrUnsupported, err)
	}
	for _, bin := range []string{nftBin, haproxyBin, sshdBin, nsenterBin, unshareBin, sudoBin} {
		if err := stat(bin); err != nil {
			return fmt.Errorf("%w: %s missing (scripts/install-test-deps.sh installs it)", ErrUnsupported, bin)
		}
	}
	return nil
}

// Executables the live cloud runs.
const (
	nftBin     = "/usr/sbin/nft"
	haproxyBin = "/usr/sbin/haproxy"
	sshdBin    = "/usr/sbin/sshd"
	nsenterBin = "/usr/bin/nsenter"
	unshareBin = "/usr/bin/unshare"
	sudoBin    = "/usr/bin/sudo"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
