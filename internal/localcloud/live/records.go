package live

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/plinth-dev/plinth/components/userdata"
)

// Record is one resource the engine created, as a hook hands it over: its type token, logical name, id and
// properties (plain Go values: map[string]any, []any, string, float64, bool).
type Record struct {
	Type    string
	Name    string
	ID      string
	Inputs  map[string]any
	Outputs map[string]any
}

// Resource types the live cloud plays.
const (
	typeVPC     = "aws:ec2/vpc:Vpc"
	typeSubnet  = "aws:ec2/subnet:Subnet"
	typeSG      = "aws:ec2/securityGroup:SecurityGroup"
	typeIngress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeEgress  = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	typeASG     = "aws:autoscaling/group:Group"
	typeLT      = "aws:ec2/launchTemplate:LaunchTemplate"
	typeLB      = "aws:lb/loadBalancer:LoadBalancer"
	typeTG      = "aws:lb/targetGroup:TargetGroup"
)

// StateFromRecords derives the live platform from what the engine created: a VPC per VPC resource, the
// security groups with their ingress and egress rule resources, `desiredCapacity` hosts per auto scaling
// group (the tier, groups, login user and service port from its launch template and user data), and the load
// balancer with its target group. keys are the authorized keys every host accepts. Addresses are allocated
// from the subnets, .10 upwards; addrs (may be nil) remembers them between calls, so that a host or load
// balancer keeps its address while resources are added around it: pass the same Addresses every time.
// Every problem is reported, naming its resource.
func StateFromRecords(recs []Record, keys string, addrs Addresses) (State, error) {
	if addrs == nil {
		addrs = Addresses{}
	}
	d := &deriver{byType: map[string][]Record{}, subnets: map[string]subnet{}, addrs: addrs, seen: map[string]bool{}}
	for _, r := range recs {
		d.byType[r.Type] = append(d.byType[r.Type], r)
	}
	for _, rs := range d.byType {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	}
	s := State{AuthorizedKeys: keys}
	s.VPCs = d.vpcs()
	d.readSubnets()
	s.Groups = d.groups()
	s.AdminCIDRs = adminCIDRs(s.Groups)
	d.reserve()
	s.Hosts, s.SSHUser = d.hosts()
	s.Hosts = append(s.Hosts, d.managedHosts()...) // the data tier's nodes (datarecords.go)
	if s.SSHUser == "" && len(s.Hosts) > 0 {
		s.SSHUser = managedOnlyUser // only managed nodes (no sshd) so far, or any more
	}
	s.LB = d.loadBalancer(s.Hosts)
	for k := range addrs {
		if !d.seen[k] {
			delete(addrs, k) // scaled in or deleted: the address is free again
		}
	}
	if err := errors.Join(d.errs...); err != nil {
		return State{}, err
	}
	return s, nil
}

// Addresses remembers the address given to each host and load balancer (by its resource and index).
type Addresses map[string]netip.Addr

type subnet struct {
	cidr   netip.Prefix
	vpc    string // VPC name in the State
	public bool
}

type deriver struct {
	byType  map[string][]Record
	vpcByID map[string]string
	subnets map[string]subnet
	addrs   Addresses
	used    map[netip.Addr]bool
	seen    map[string]bool // the keys of this derivation
	errs    []error
}

func (d *deriver) fail(r Record, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s %s: %s", r.Type, r.Name, fmt.Sprintf(format, args...)))
}

var slugRE = regexp.MustCompile(`[^a-z0-9-]+`)

func slug(s string) string {
	s = strings.Trim(slugRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 31 {
		s = strings.TrimRight(s[:31], "-")
	}
	return s
}

func (d *deriver) vpcs() []VPC {
	d.vpcByID = map[string]string{}
	var out []VPC
	for _, r := range d.byType[typeVPC] {
		p, err := netip.ParsePrefix(str(r, "cidrBlock"))
		if err != nil {
			d.fail(r, "cidrBlock: %v", err)
			continue
		}
		name := slug(r.Name)
		d.vpcByID[id(r)] = name
		out = append(out, VPC{Name: name, CIDR: p})
	}
	return out
}

func (d *deriver) readSubnets() {
	for _, r := range d.byType[typeSubnet] {
		p, err := netip.ParsePrefix(str(r, "cidrBlock"))
		if err != nil {
			d.fail(r, "cidrBlock: %v", err)
			continue
		}
		vpc, ok := d.vpcByID[str(r, "vpcId")]
		if !ok {
			d.fail(r, "vpcId %q: no such VPC", str(r, "vpcId"))
			continue
		}
		d.subnets[id(r)] = subnet{cidr: p, vpc: vpc, public: tag(r, "plinth:subnet-class") == "public"}
	}
}

// reserve marks the remembered addresses as taken.
func (d *deriver) reserve() {
	d.used = map[netip.Addr]bool{}
	for _, a := range d.addrs {
		d.used[a] = true
	}
}

// allocate returns key's remembered address when it is still in the subnet, else the subnet's first free
// host address from .10.
func (d *deriver) allocate(r Record, key, subnetID string) (subnet, netip.Addr, bool) {
	sn, ok := d.subnets[subnetID]
	if !ok {
		d.fail(r, "subnet %q: no such subnet", subnetID)
		return sn, netip.Addr{}, false
	}
	d.seen[key] = true
	if a, ok := d.addrs[key]; ok && sn.cidr.Contains(a) {
		return sn, a, true
	}
	a := sn.cidr.Masked().Addr()
	for i := 0; i < 10; i++ {
		a = a.Next()
	}
	for ; sn.cidr.Contains(a); a = a.Next() {
		if !d.used[a] {
			d.used[a], d.addrs[key] = true, a
			return sn, a, true
		}
	}
	d.fail(r, "subnet %s (%s) is full", subnetID, sn.cidr)
	return sn, netip.Addr{}, false
}

func (d *deriver) groups() []SecurityGroup {
	idx := map[string]int{}
	var out []SecurityGroup
	for _, r := range d.byType[typeSG] {
		idx[id(r)] = len(out)
		out = append(out, SecurityGroup{ID: id(r), Tier: firstNonEmpty(tag(r, "plinth:tier"), r.Name)})
	}
	for _, kind := range []string{typeIngress, typeEgress} {
		for _, r := range d.byType[kind] {
			i, ok := idx[str(r, "securityGroupId")]
			if !ok {
				d.fail(r, "securityGroupId %q: no such group", str(r, "securityGroupId"))
				continue
			}
			rule := Rule{Protocol: str(r, "ipProtocol"), FromPort: num(r, "fromPort"), ToPort: num(r, "toPort"),
				Group: str(r, "referencedSecurityGroupId"), Purpose: str(r, "description")}
			if c := firstNonEmpty(str(r, "cidrIpv4"), str(r, "cidrIpv6")); c != "" {
				p, err := netip.ParsePrefix(c)
				if err != nil {
					d.fail(r, "cidr: %v", err)
					continue
				}
				rule.CIDR = p
			}
			if kind == typeIngress {
				out[i].Ingress = append(out[i].Ingress, rule)
			} else {
				out[i].Egress = append(out[i].Egress, rule)
			}
		}
	}
	return out
}

// adminCIDRs are the IPv4 networks the groups admit SSH from, other than the whole internet.
func adminCIDRs(groups []SecurityGroup) []netip.Prefix {
	var out []netip.Prefix
	for _, g := range groups {
		for _, r := range g.Ingress {
			if r.CIDR.IsValid() && r.CIDR.Addr().Is4() && r.CIDR.Bits() > 0 && r.FromPort <= 22 && r.ToPort >= 22 {
				out = append(out, r.CIDR)
			}
		}
	}
	return out
}

var (
	allowUsersRE = regexp.MustCompile(`(?m)^AllowUsers (\S+)$`)
	portRE       = regexp.MustCompile(`(?m)^PORT=(\d+)$`)
)

func (d *deriver) hosts() ([]Host, string) {
	lts := map[string]Record{}
	for _, r := range d.byType[typeLT] {
		lts[id(r)] = r
	}
	var hosts []Host
	var user string
	for _, asg := range d.byType[typeASG] {
		lt, ok := lts[str(asg, "launchTemplate.id")]
		if !ok {
			d.fail(asg, "launchTemplate.id %q: no such launch template", str(asg, "launchTemplate.id"))
			continue
		}
		tier := tag(lt, "plinth:tier")
		script, err := base64.StdEncoding.DecodeString(str(lt, "userData"))
		if err != nil || tier == "" {
			d.fail(lt, "want a plinth:tier tag and base64 user data")
			continue
		}
		if m := allowUsersRE.FindSubmatch(script); m != nil {
			user = string(m[1])
		}
		var svc *userdata.Service
		if m := portRE.FindSubmatch(script); m != nil {
			port, _ := strconv.Atoi(string(m[1]))
			svc = &userdata.Service{Tier: tier, User: user, Port: port}
		}
		bk, hasBackup, err := userdata.ParseBackup(string(script))
		if err != nil {
			d.fail(lt, "backup units: %v", err)
			continue
		}
		subnets := strs(asg, "vpcZoneIdentifiers")
		if len(subnets) == 0 {
			d.fail(asg, "no vpcZoneIdentifiers")
			continue
		}
		groups := strs(lt, "networkInterfaces.0.securityGroups")
		for i := 0; i < num(asg, "desiredCapacity"); i++ {
			sn, addr, ok := d.allocate(asg, fmt.Sprintf("%s/%d", asg.Name, i), subnets[i%len(subnets)])
			if !ok {
				continue
			}
			h := Host{Name: fmt.Sprintf("%s-%d", tier, i+1), Tier: tier, VPC: sn.vpc, Address: addr, Subnet: sn.cidr,
				Public: sn.public, Groups: groups, SSH: true, Bastion: tier == "bastion", Service: svc}
			if hasBackup {
				b := bk
				b.Federation = nil // the live vault's writer is a token (backupunits.go)
				h.Backup = &b
			}
			hosts = append(hosts, h)
		}
	}
	return hosts, user
}

func (d *deriver) loadBalancer(hosts []Host) *LoadBalancer {
	lbs, tgs := d.byType[typeLB], d.byType[typeTG]
	if len(lbs) == 0 || len(tgs) == 0 {
		return nil
	}
	r, tg := lbs[0], tgs[0]
	subnets := strs(r, "subnets")
	if len(subnets) == 0 {
		d.fail(r, "no subnets")
		return nil
	}
	sn, addr, ok := d.allocate(r, r.Name, subnets[0])
	if !ok {
		return nil
	}
	lb := &LoadBalancer{Name: "lb", VPC: sn.vpc, Address: addr, Groups: strs(r, "securityGroups"), DNSName: str(r, "dnsName"),
		Target: TargetGroup{Port: num(tg, "port"), HealthPath: firstNonEmpty(str(tg, "healthCheck.path"), "/health"),
			IntervalSeconds: max(num(tg, "healthCheck.interval"), 1), HealthyThreshold: num(tg, "healthCheck.healthyThreshold"),
			UnhealthyThreshold: num(tg, "healthCheck.unhealthyThreshold")}}
	arn := str(tg, "arn")
	tiers := map[string]bool{}
	lts := map[string]string{}
	for _, lt := range d.byType[typeLT] {
		lts[id(lt)] = tag(lt, "plinth:tier")
	}
	for _, asg := range d.byType[typeASG] {
		for _, a := range strs(asg, "targetGroupArns") {
			if a == arn {
				tiers[lts[str(asg, "launchTemplate.id")]] = true
			}
		}
	}
	for _, h := range hosts {
		if tiers[h.Tier] {
			lb.Target.Targets = append(lb.Target.Targets, h.Name)
		}
	}
	return lb
}

// Property access: outputs first (they hold the inputs plus computed values), dotted paths into maps and
// lists.

func prop(r Record, path string) any {
	for _, m := range []map[string]any{r.Outputs, r.Inputs} {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			switch c := v.(type) {
			case map[string]any:
				v = c[k]
			case []any:
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 || i >= len(c) {
					v = nil
				} else {
					v = c[i]
				}
			default:
				v = nil
			}
		}
		if v != nil {
			return v
		}
	}
	return nil
}

func str(r Record, path string) string {
	if s, ok := prop(r, path).(string); ok {
		return s
	}
	return ""
}

func num(r Record, path string) int {
	switch v := prop(r, path).(type) {
	case float64:
		return int(v)
	case int:
		return v
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func strs(r Record, path string) []string {
	var out []string
	if l, ok := prop(r, path).([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func tag(r Record, key string) string {
	if m, ok := prop(r, "tags").(map[string]any); ok {
		if s, ok := m[key].(string); ok {
			return s
		}
	}
	return ""
}

func id(r Record) string { return firstNonEmpty(r.ID, str(r, "id")) }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
