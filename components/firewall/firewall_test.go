package firewall

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

var ports = Ports{App: 8080, SFTP: 2222}

func TestMatrixPolicy(t *testing.T) {
	for _, r := range Matrix(ports) {
		if r.From == Internet && (r.To != LB || (r.Port != HTTPS && r.Port != HTTP)) {
			t.Errorf("%s: the internet may reach only the load balancer on 443/80", r)
		}
		if r.Port == SSH && r.From != Bastion && !(r.From == Admin && r.To == Bastion) {
			t.Errorf("%s: SSH only from the bastion (and to the bastion only from admins)", r)
		}
		if r.From == Admin && r.To != Bastion {
			t.Errorf("%s: admin networks reach only the bastion", r)
		}
		if r.To == DB && r.From != App && r.From != Worker && r.From != Bastion {
			t.Errorf("%s: MySQL only from app, worker and bastion", r)
		}
		if (r.To == Search || r.To == Cache) && r.From != App && r.From != Worker {
			t.Errorf("%s: search and cache only from app and worker", r)
		}
		if r.To == LB && r.From != Internet {
			t.Errorf("%s: unexpected flow into the load balancer", r)
		}
	}
}

func render(t *testing.T, admins ...string) *offline.Result {
	t.Helper()
	return componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "fw", &Args{VpcID: pulumi.String("vpc-1"), AdminCIDRs: admins, Ports: ports, Tags: componenttest.Tags()})
		return err
	})
}

type edge struct {
	from, to string
	port     int
}

// graph reads the rendered ingress rules back into tier-level edges: security group ids map to tiers
// through the groups' plinth:tier tag; 0.0.0.0/0 and ::/0 are the internet; other CIDRs are "cidr:<x>".
func graph(t *testing.T, res *offline.Result) []edge {
	t.Helper()
	tierOf := map[string]string{}
	for _, sg := range res.ByType("aws:ec2/securityGroup:SecurityGroup") {
		tierOf[sg.ID] = componenttest.Get(sg.Inputs, "tags.plinth:tier").(string)
		if in, ok := sg.Inputs["ingress"].([]any); ok && len(in) > 0 {
			t.Errorf("security group %s has inline ingress rules", sg.Name)
		}
	}
	var edges []edge
	for _, r := range res.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		to := tierOf[r.Inputs["securityGroupId"].(string)]
		from := ""
		switch {
		case r.Inputs["referencedSecurityGroupId"] != nil:
			from = tierOf[r.Inputs["referencedSecurityGroupId"].(string)]
		case r.Inputs["cidrIpv4"] == "0.0.0.0/0", r.Inputs["cidrIpv6"] == "::/0":
			from = Internet
		case r.Inputs["cidrIpv4"] != nil:
			from = "cidr:" + r.Inputs["cidrIpv4"].(string)
		case r.Inputs["cidrIpv6"] != nil:
			from = "cidr:" + r.Inputs["cidrIpv6"].(string)
		}
		if from == "" || to == "" {
			t.Fatalf("rule %s: cannot resolve %v", r.Name, r.Inputs)
		}
		from2, to2 := r.Inputs["fromPort"].(float64), r.Inputs["toPort"].(float64)
		if from2 != to2 {
			t.Errorf("rule %s opens a port range %v-%v", r.Name, from2, to2)
		}
		edges = append(edges, edge{from, to, int(from2)})
	}
	return edges
}

// reachable is the set of nodes reachable from start without entering any node in avoid.
func reachable(edges []edge, start string, avoid ...string) map[string]bool {
	blocked := map[string]bool{}
	for _, a := range avoid {
		blocked[a] = true
	}
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range edges {
			if e.from == n && !seen[e.to] && !blocked[e.to] {
				seen[e.to] = true
				queue = append(queue, e.to)
			}
		}
	}
	return seen
}

// TestNoPathFromInternetToDataTiersAvoidingApp treats the rendered rules as a graph: the data tiers are
// reachable from the internet (through lb -> app), and unreachable once the app tier is removed.
func TestNoPathFromInternetToDataTiersAvoidingApp(t *testing.T) {
	res := render(t, "203.0.113.0/24", "2001:db8::/32")
	componenttest.AssertFamily(t, res, TypeToken)
	edges := graph(t, res)

	with := reachable(edges, Internet)
	without := reachable(edges, Internet, App)
	for _, data := range []string{DB, Search, Cache, SFTP} {
		if !with[data] {
			t.Errorf("%s unreachable even through the app tier: the platform would not work", data)
		}
		if without[data] {
			t.Errorf("path from the internet to %s that does not pass the app tier", data)
		}
	}
	for _, n := range []string{Bastion, Worker} {
		if with[n] {
			t.Errorf("%s is reachable from the internet", n)
		}
	}
	for _, e := range edges {
		if e.from == Internet && (e.to != LB || (e.port != 443 && e.port != 80)) {
			t.Errorf("internet ingress %+v: only the load balancer on 443/80", e)
		}
		if e.port == SSH && e.from != Bastion && !(strings.HasPrefix(e.from, "cidr:") && e.to == Bastion) {
			t.Errorf("SSH edge %+v: only from the bastion, or from admin CIDRs to the bastion", e)
		}
		if strings.HasPrefix(e.from, "cidr:") && (e.to != Bastion || e.port != SSH) {
			t.Errorf("admin CIDR edge %+v: admins reach only the bastion's SSH", e)
		}
	}
	admins := map[string]bool{}
	for _, e := range edges {
		if strings.HasPrefix(e.from, "cidr:") {
			admins[e.from] = true
		}
	}
	if !admins["cidr:203.0.113.0/24"] || !admins["cidr:2001:db8::/32"] || len(admins) != 2 {
		t.Errorf("admin sources = %v", admins)
	}
}

func TestEgressMirrorsIngress(t *testing.T) {
	res := render(t, "203.0.113.0/24")
	sgTier := map[string]string{}
	for _, sg := range res.ByType("aws:ec2/securityGroup:SecurityGroup") {
		sgTier[sg.ID] = componenttest.Get(sg.Inputs, "tags.plinth:tier").(string)
	}
	out := map[string][]string{}
	for _, r := range res.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		from := sgTier[r.Inputs["securityGroupId"].(string)]
		to := "internet"
		if id, ok := r.Inputs["referencedSecurityGroupId"].(string); ok {
			to = sgTier[id]
		} else if r.Inputs["fromPort"] != float64(443) {
			t.Errorf("egress %s to the internet on %v: only HTTPS", r.Name, r.Inputs["fromPort"])
		}
		out[from] = append(out[from], to)
	}
	for _, data := range []string{DB, Search, Cache} {
		if len(out[data]) != 0 {
			t.Errorf("data tier %s has egress %v", data, out[data])
		}
	}
	if got := strings.Join(out[LB], ","); got != App {
		t.Errorf("load balancer egress = %s, want only app", got)
	}
}

func TestBadAdminCIDRs(t *testing.T) {
	for _, admins := range [][]string{{"0.0.0.0/0"}, {"::/0"}, {"not-a-cidr"}} {
		err := componenttest.RunErr(func(ctx *pulumi.Context) error {
			_, err := New(ctx, "fw", &Args{VpcID: pulumi.String("vpc-1"), AdminCIDRs: admins, Ports: ports})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "firewall fw") {
			t.Errorf("admins %v: err = %v", admins, err)
		}
	}
}
