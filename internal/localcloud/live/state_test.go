package live

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, *update, name, got)
}

// testPorts are the matrix's spec-dependent ports in the test platform.
var testPorts = firewall.Ports{App: 8080, SFTP: 2022}

var adminCIDR = netip.MustParsePrefix("203.0.113.0/24")

// groupsFromMatrix builds the security groups the firewall component creates from the matrix: one group per
// tier, an ingress rule per flow (internet: 0.0.0.0/0 and ::/0; admin: the admin CIDRs; a tier: its group),
// an egress rule on the source tier's group, HTTPS out for the tiers that may reach the internet.
func groupsFromMatrix() []SecurityGroup {
	idx := map[string]int{}
	var groups []SecurityGroup
	for i, t := range firewall.Tiers {
		idx[t] = i
		groups = append(groups, SecurityGroup{ID: "sg-" + t, Tier: t})
	}
	for _, r := range firewall.Matrix(testPorts) {
		base := Rule{Protocol: r.Protocol, FromPort: r.Port, ToPort: r.Port, Purpose: r.Purpose}
		to := &groups[idx[r.To]]
		switch r.From {
		case firewall.Internet:
			for _, c := range []string{"0.0.0.0/0", "::/0"} {
				in := base
				in.CIDR = netip.MustParsePrefix(c)
				to.Ingress = append(to.Ingress, in)
			}
		case firewall.Admin:
			in := base
			in.CIDR = adminCIDR
			to.Ingress = append(to.Ingress, in)
		default:
			in, out := base, base
			in.Group, out.Group = "sg-"+r.From, "sg-"+r.To
			to.Ingress = append(to.Ingress, in)
			from := &groups[idx[r.From]]
			from.Egress = append(from.Egress, out)
		}
	}
	for _, t := range firewall.EgressToInternet {
		g := &groups[idx[t]]
		g.Egress = append(g.Egress, Rule{Protocol: "tcp", FromPort: 443, ToPort: 443,
			CIDR: netip.MustParsePrefix("0.0.0.0/0"), Purpose: "HTTPS out"})
	}
	return groups
}

// testState is a small platform: the bastion, two app hosts, a worker, an sftp host, the data tier's nodes
// (db, search, cache: no sshd, like managed services) and the load balancer.
func testState(keys string) State {
	svc := func(tier string, port int) *userdata.Service {
		return &userdata.Service{Tier: tier, User: "plinth", Port: port}
	}
	host := func(name, tier, addr string, ssh bool, s *userdata.Service) Host {
		a := netip.MustParseAddr(addr)
		return Host{Name: name, Tier: tier, VPC: "main", Address: a, Subnet: netip.PrefixFrom(a, 24).Masked(),
			Groups: []string{"sg-" + tier}, SSH: ssh, Service: s}
	}
	bastion := host("bastion", firewall.Bastion, "10.60.0.10", true, nil)
	bastion.Public, bastion.Bastion = true, true
	return State{
		SSHUser:        "plinth",
		AuthorizedKeys: keys,
		AdminCIDRs:     []netip.Prefix{adminCIDR},
		VPCs:           []VPC{{Name: "main", CIDR: netip.MustParsePrefix("10.60.0.0/16")}},
		Groups:         groupsFromMatrix(),
		Hosts: []Host{
			bastion,
			host("app-1", firewall.App, "10.60.8.10", true, svc("app", 8080)),
			host("app-2", firewall.App, "10.60.9.10", true, svc("app", 8080)),
			host("worker-1", firewall.Worker, "10.60.8.20", true, nil),
			host("sftp-1", firewall.SFTP, "10.60.8.30", true, nil),
			host("db-1", firewall.DB, "10.60.16.10", false, nil),
			host("search-1", firewall.Search, "10.60.16.20", false, nil),
			host("cache-1", firewall.Cache, "10.60.16.30", false, nil),
		},
		LB: &LoadBalancer{Name: "lb", VPC: "main", Address: netip.MustParseAddr("10.60.0.5"), Groups: []string{"sg-lb"},
			DNSName: "lb.staging.plinth.internal",
			Target: TargetGroup{Port: 8080, HealthPath: "/health", IntervalSeconds: 1, HealthyThreshold: 2,
				UnhealthyThreshold: 2, Targets: []string{"app-1", "app-2"}}},
	}
}

func TestRulesetGolden(t *testing.T) {
	s := testState("")
	m := members(s)
	for _, h := range []string{"app-1", "bastion", "db-1"} {
		for _, hs := range s.Hosts {
			if hs.Name == h {
				golden(t, fmt.Sprintf("ruleset-%s.nft", h), RenderRuleset(h, groupsOf(s.Groups, hs.Groups), m))
			}
		}
	}
	golden(t, "ruleset-lb.nft", RenderRuleset("lb", groupsOf(s.Groups, s.LB.Groups), m))
}

func TestHAProxyGolden(t *testing.T) {
	s := testState("")
	targets := map[string]netip.Addr{}
	for _, h := range s.Hosts {
		targets[h.Name] = h.Address
	}
	golden(t, "haproxy.cfg", RenderHAProxy(HAProxyInput{LB: *s.LB, Targets: targets, CertFile: "/run/plinth/lb.pem",
		AdminSocket: "/run/plinth/admin.sock", RedirectTo: "https://127.0.0.1:8443"}))
}

func TestValidateNamesEveryProblem(t *testing.T) {
	s := testState("")
	s.Hosts[1].Address = netip.MustParseAddr("10.99.0.1")
	s.Hosts[2].Groups = []string{"sg-nope"}
	s.Hosts[3].Address = s.Hosts[0].Address
	s.LB.Target.Targets = append(s.LB.Target.Targets, "app-9")
	s.Groups[0].Ingress = append(s.Groups[0].Ingress, Rule{Protocol: "udp", FromPort: 53, ToPort: 53, Group: "sg-app"})
	s.LB.Target.HealthPath = "/health\n\tserver evil 1.2.3.4:80"
	s.AuthorizedKeys = "ssh-ed25519 AAAA x\nPLINTH_KEYS\nrm -rf /\n"
	err := s.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"host app-1: address 10.99.0.1 is not a host address of vpc main",
		`host app-2: unknown security group "sg-nope"`,
		"host worker-1: address 10.60.0.10 already belongs to bastion",
		`load balancer lb: target "app-9" is not a host`,
		"security group sg-lb: rule udp 53-53",
		"load balancer lb: target group: want a port, an interval >= 1s and a health path",
		"authorizedKeys: must not contain PLINTH_KEYS",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := testState("").Validate(); err != nil {
		t.Errorf("the test state: %v", err)
	}
}

func TestCheckSaysWhyInOneLine(t *testing.T) {
	present := func(string) error { return nil }
	for _, tc := range []struct {
		euid int
		stat func(string) error
		want string
	}{
		{1000, present, "need root (running as uid 1000)"},
		{0, func(p string) error {
			if p == nftBin {
				return os.ErrNotExist
			}
			return nil
		}, nftBin + " missing"},
		{0, func(p string) error {
			if p == "/proc/self/ns/net" {
				return os.ErrNotExist
			}
			return nil
		}, "no network namespace support"},
	} {
		err := check(tc.euid, tc.stat)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("check(%d) = %v, want one line with %q", tc.euid, err, tc.want)
		}
	}
	if err := check(0, present); err != nil {
		t.Errorf("check with everything present: %v", err)
	}
}

func TestHostScriptsGolden(t *testing.T) {
	golden(t, "systemctl.sh", systemctlShim("/run/plinth/hosts/app-1"))
	golden(t, "journalctl.sh", journalctlShim("/run/plinth/hosts/app-1"))
	golden(t, "authorized-keys.sh", authorizedKeysScript("plinth", "ssh-ed25519 AAAAC3Nza operator"))
}
