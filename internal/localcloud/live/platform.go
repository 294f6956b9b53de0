package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sync"
	"time"
)

// Options configure a Platform.
type Options struct {
	// ID names the platform's namespaces and links (plt-<id>-<host>): lower-case letters and digits, <= 10.
	ID string
	// Dir holds the hosts' private directories, the CA and the load balancer's files.
	Dir string
	// Ports of the published 127.0.0.1 listeners (0: any free port).
	HTTPSPort, HTTPPort, SSHPort int
	// PlinthBinary is bind-mounted read-only at /usr/local/bin/plinth on hosts with backup units (the
	// server's own executable); empty: those units have no plinth to run.
	PlinthBinary string
	// BackupInterval, when set, fires the backup timers at this interval instead of their schedule.
	BackupInterval time.Duration
	// BinlogSegmentAge, when set, is the binlog streamers' --segment-age (their lease is three times it):
	// tests of the hand-over between workers.
	BinlogSegmentAge time.Duration
}

// The edge namespace's addresses: the internet (TEST-NET-2), and one in the first admin CIDR.
var internetAddr = netip.MustParseAddr("198.51.100.10")

// Platform is a running live platform. Apply reconciles it to a State (what the engine created); Close tears
// everything down. Safe for concurrent use.
type Platform struct {
	mu      sync.Mutex
	id, dir string
	opts    Options
	sup     *Supervisor
	ca      *CA
	state   State
	bridges map[string]string // vpc -> bridge
	hosts   map[string]*host
	lb      *lbRunning
	edge    string // the edge namespace (created with the first VPC)
	edgeVPC string // the VPC the edge is attached to
	admin   netip.Addr
	pub     *publisher
	data    *DataTier // the managed databases, caches and vault (data.go); closed first
	// shared are bridges of another platform this one attaches to and never removes (a drill stack's
	// platform on its source's DR VPC: drillplace.go); overlays add to every applied State.
	shared   map[string]string
	overlays map[string]func(State) State
	apps     appEnvs // the app tiers' data-tier environments (appenv.go)
}

var idRE = regexp.MustCompile(`^[a-z0-9]{1,10}$`)

// New prepares a platform; nothing runs before Apply. It fails with ErrUnsupported where namespaces cannot
// be created.
func New(opts Options) (*Platform, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if !idRE.MatchString(opts.ID) {
		return nil, fmt.Errorf("live: id %q: want 1-10 lower-case letters or digits", opts.ID)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("live %s: %w", opts.ID, err)
	}
	ca, err := loadOrCreateCA(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("live %s: %w", opts.ID, err)
	}
	p := &Platform{id: opts.ID, dir: opts.Dir, opts: opts, sup: NewSupervisor(), ca: ca,
		bridges: map[string]string{}, hosts: map[string]*host{}}
	p.edge = p.nsName("edge")
	p.pub = newPublisher(p.edge)
	p.data = NewDataTier(p)
	return p, nil
}

func (p *Platform) nsName(part string) string { return NamePrefix + p.id + "-" + part }

func (p *Platform) bridgeName(vpc string) string {
	if b, ok := p.shared[vpc]; ok {
		return b
	}
	return linkName("b", p.id+"/"+vpc)
}

func (p *Platform) vpc(name string) VPC {
	for _, v := range p.state.VPCs {
		if v.Name == name {
			return v
		}
	}
	return VPC{}
}

// hostPrefix is the host's address with its VPC's prefix length: the whole VPC is on-link (AWS's VPC
// router between subnets).
func (p *Platform) hostPrefix(vpc string, a netip.Addr) netip.Prefix {
	return netip.PrefixFrom(a, p.vpc(vpc).CIDR.Bits())
}

// edgeRoutes are public hosts' routes to the internet: only the edge's addresses, on-link.
func (p *Platform) edgeRoutes(public bool) []netip.Prefix {
	if !public {
		return nil
	}
	return []netip.Prefix{netip.PrefixFrom(internetAddr, 32), netip.PrefixFrom(p.admin, 32)}
}

// Apply brings the running platform to s: bridges, the edge, hosts (new ones started, gone or changed ones
// stopped and removed), every host's firewall, the load balancer and the published ports.
func (p *Platform) Apply(ctx context.Context, s State) error {
	s = p.withOverlays(s)
	if err := s.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
	// Heal replaces hosts in the platform's copy, never in the caller's.
	p.state.Hosts = append([]Host(nil), s.Hosts...)
	if len(s.AdminCIDRs) > 0 && !p.admin.IsValid() {
		p.admin = s.AdminCIDRs[0].Masked().Addr()
		if s.AdminCIDRs[0].Bits() < 32 {
			p.admin = p.admin.Next()
		}
	}
	if !p.admin.IsValid() {
		p.admin = netip.MustParseAddr("203.0.113.10")
	}
	for _, v := range s.VPCs {
		if _, ok := p.bridges[v.Name]; ok {
			continue
		}
		br := p.bridgeName(v.Name)
		if err := ensureBridge(br); err != nil {
			return err
		}
		p.bridges[v.Name] = br
	}
	if err := p.ensureEdge(s); err != nil {
		return err
	}
	want := map[string]Host{}
	for _, h := range s.Hosts {
		want[h.Name] = h
	}
	for _, name := range sortedKeys(p.hosts) {
		if h, ok := want[name]; !ok || !sameHost(h, p.hosts[name].spec) {
			if err := p.stopHost(name); err != nil {
				return err
			}
		} else {
			p.hosts[name].spec.Groups = h.Groups // membership may change (a data replica's managed flows): rulesets follow
		}
	}
	if err := p.startHosts(ctx, s.Hosts); err != nil { // concurrently, bounded (start.go)
		return err
	}
	if err := p.applyFirewalls(ctx); err != nil {
		return err
	}
	if err := p.applyEdgeServices(); err != nil {
		return err
	}
	return p.removeGone(s)
}

func sameHost(a, b Host) bool {
	return a.Tier == b.Tier && a.VPC == b.VPC && a.Address == b.Address && a.Subnet == b.Subnet && a.SSH == b.SSH && a.Bastion == b.Bastion &&
		a.Public == b.Public && ((a.Service == nil) == (b.Service == nil)) && (a.Service == nil || *a.Service == *b.Service) &&
		reflect.DeepEqual(a.Backup, b.Backup)
}

// ensureEdge creates the edge namespace on the bridge of the VPC the published parts live in (edgeVPC): the
// internet and the admins' network, with on-link routes to that VPC only. It moves when that VPC changes
// (production's DR VPC may be created first).
func (p *Platform) ensureEdge(s State) error {
	if len(s.VPCs) == 0 {
		return nil
	}
	v := edgeVPC(s)
	if _, err := os.Stat(netnsDir + "/" + p.edge); err == nil && p.edgeVPC == v.Name {
		return nil
	} else if err != nil {
		if err := createNetns(p.edge); err != nil {
			return err
		}
	}
	p.edgeVPC = v.Name
	return attach(p.edge, p.bridges[v.Name], []netip.Prefix{netip.PrefixFrom(internetAddr, 32), netip.PrefixFrom(p.admin, 32),
		netip.PrefixFrom(vaultAddr, 32)}, []netip.Prefix{v.CIDR.Masked()})
}

// applyFirewalls loads every host's (and the load balancer's) ruleset: membership changes reach them all.
func (p *Platform) applyFirewalls(ctx context.Context) error {
	m := members(p.state)
	for _, name := range sortedKeys(p.hosts) {
		rh := p.hosts[name]
		rs := RenderRuleset(name, groupsOf(p.state.Groups, rh.spec.Groups), m)
		if err := loadRuleset(ctx, rh.ns, rh.dir, rs); err != nil {
			return fmt.Errorf("host %s: %w", name, err)
		}
	}
	if lb := p.state.LB; lb != nil {
		if p.lb == nil {
			if err := p.pub.listen("https", p.opts.HTTPSPort); err != nil {
				return err
			}
			if err := p.pub.listen("http", p.opts.HTTPPort); err != nil {
				return err
			}
			if err := p.applyLB(*lb); err != nil {
				return err
			}
		}
		rs := RenderRuleset(lb.Name, groupsOf(p.state.Groups, lb.Groups), m)
		if err := loadRuleset(ctx, p.lb.ns, p.lb.dir, rs); err != nil {
			return fmt.Errorf("load balancer %s: %w", lb.Name, err)
		}
	}
	return nil
}

// applyEdgeServices renders the load balancer and points the published ports at it and at the bastion.
func (p *Platform) applyEdgeServices() error {
	if lb := p.state.LB; lb != nil {
		if err := p.applyLB(*lb); err != nil {
			return err
		}
		p.pub.route("https", internetAddr, net.JoinHostPort(lb.Address.String(), "443"))
		p.pub.route("http", internetAddr, net.JoinHostPort(lb.Address.String(), "80"))
	}
	for _, h := range p.state.Hosts {
		if h.Bastion && h.SSH {
			if err := p.pub.listen("ssh", p.opts.SSHPort); err != nil {
				return err
			}
			p.pub.route("ssh", p.admin, net.JoinHostPort(h.Address.String(), "22"))
		}
	}
	return nil
}

// removeGone takes down what the state no longer has: the load balancer (and its published ports), the
// bastion's published port, the bridges of deleted VPCs and, with the last VPC, the edge.
func (p *Platform) removeGone(s State) error {
	var errs []error
	if s.LB == nil && p.lb != nil {
		errs = append(errs, p.sup.Forget(p.lb.spec.Name+"/haproxy", 5*time.Second), detach(p.lb.ns), deleteNetns(p.lb.ns),
			p.pub.unpublish("https"), p.pub.unpublish("http"))
		p.lb = nil
	}
	bastion := false
	for _, h := range s.Hosts {
		bastion = bastion || (h.Bastion && h.SSH)
	}
	if !bastion {
		errs = append(errs, p.pub.unpublish("ssh"))
	}
	vpcs := map[string]bool{}
	for _, v := range s.VPCs {
		vpcs[v.Name] = true
	}
	if len(vpcs) == 0 {
		errs = append(errs, detach(p.edge), deleteNetns(p.edge))
	}
	for _, v := range sortedKeys(p.bridges) {
		if !vpcs[v] {
			errs = append(errs, p.deleteBridge(v))
			delete(p.bridges, v)
		}
	}
	return errors.Join(errs...)
}

// stopHost stops a host's processes by pid and removes its namespace and directories.
func (p *Platform) stopHost(name string) error {
	rh, ok := p.hosts[name]
	if !ok {
		return nil
	}
	if err := p.suspendHost(name); err != nil {
		return err
	}
	if err := os.RemoveAll(rh.dir); err != nil {
		return fmt.Errorf("host %s: stop: %w", name, err)
	}
	return nil
}

// suspendHost stops a host's processes by pid and removes its namespace; its directories (its /srv, its
// host key) stay for the next start.
func (p *Platform) suspendHost(name string) error {
	rh, ok := p.hosts[name]
	if !ok {
		return nil
	}
	errs := []error{p.stopBackupUnits(rh)}
	for _, part := range []string{"sshd", "anchor"} {
		if rh.spec.Service != nil && part == "sshd" {
			errs = append(errs, p.sup.Forget(name+"/"+rh.spec.Service.Unit(), 5*time.Second))
		}
		errs = append(errs, p.sup.Forget(name+"/"+part, 5*time.Second))
	}
	if rh.ctl != nil {
		_ = rh.ctl.Close()
	}
	errs = append(errs, detach(rh.ns), deleteNetns(rh.ns))
	delete(p.hosts, name)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("host %s: stop: %w", name, err)
	}
	return nil
}

// Close stops every process, closes the published ports and removes every namespace and bridge. The CA and
// the hosts' directories (their /srv with the deployed release, their host keys) stay in Dir: a later Apply
// of the same state starts the hosts as they were (`plinth local stop`, then `local start`).
func (p *Platform) Close() error {
	dataErr := p.data.Close() // before the hosts its servers run in
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := []error{dataErr, p.pub.close()}
	for _, name := range sortedKeys(p.hosts) {
		errs = append(errs, p.suspendHost(name))
	}
	errs = append(errs, p.sup.StopAll(5*time.Second))
	if p.lb != nil {
		errs = append(errs, detach(p.lb.ns), deleteNetns(p.lb.ns))
		p.lb = nil
	}
	errs = append(errs, detach(p.edge), deleteNetns(p.edge))
	for _, v := range sortedKeys(p.bridges) {
		errs = append(errs, p.deleteBridge(v))
	}
	p.bridges = map[string]string{}
	return errors.Join(errs...)
}

// NetnsName is the namespace of a host or load balancer (for tests and status).
func (p *Platform) NetnsName(part string) string { return p.nsName(part) }

// EdgeNetns is the namespace playing the internet; InternetAddr and AdminAddr its two addresses.
func (p *Platform) EdgeNetns() string { return p.edge }

// InternetAddr is the edge's internet address.
func (p *Platform) InternetAddr() netip.Addr { return internetAddr }

// AdminAddr is the edge's address in the admin network.
func (p *Platform) AdminAddr() netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.admin
}

// HostDir is where a host's private directories live on this machine (/srv of the host is HostDir/srv).
func (p *Platform) HostDir(name string) string { return filepath.Join(p.dir, "hosts", name) }
