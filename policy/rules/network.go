package rules

import "fmt"

const (
	sgType        = "aws:ec2/securityGroup:SecurityGroup"
	ingressType   = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	legacyRuleTyp = "aws:ec2/securityGroupRule:SecurityGroupRule"
	internetNode  = "internet"
)

// ingress is one allowed inbound flow, whatever resource declared it.
type ingress struct {
	decl     *Resource // the rule (or security group, for inline rules)
	target   string    // security group URN
	sourceSG string    // security group URN, or ""
	cidr     string    // source CIDR, or ""
	from, to int
}

func (i ingress) world() bool { return i.cidr == "0.0.0.0/0" || i.cidr == "::/0" }
func (i ingress) covers(port int) bool {
	return i.from <= port && port <= i.to
}

// ingresses normalises standalone rules, legacy security group rules and inline ingress blocks.
func ingresses(s *Stack) []ingress {
	var out []ingress
	ports := func(proto string, from, to float64) (int, int) {
		if proto == "-1" || proto == "all" {
			return 0, 65535
		}
		return int(from), int(to)
	}
	for _, r := range s.ByType(ingressType) {
		from, _ := r.num("fromPort")
		to, _ := r.num("toPort")
		lo, hi := ports(r.str("ipProtocol"), from, to)
		in := ingress{decl: r, target: r.Ref("securityGroupId"), sourceSG: r.Ref("referencedSecurityGroupId"), from: lo, to: hi}
		for _, c := range []string{r.str("cidrIpv4"), r.str("cidrIpv6")} {
			if c != "" {
				in.cidr = c
			}
		}
		out = append(out, in)
	}
	for _, r := range s.ByType(legacyRuleTyp) {
		if r.str("type") != "ingress" {
			continue
		}
		from, _ := r.num("fromPort")
		to, _ := r.num("toPort")
		lo, hi := ports(r.str("protocol"), from, to)
		base := ingress{decl: r, target: r.Ref("securityGroupId"), sourceSG: r.Ref("sourceSecurityGroupId"), from: lo, to: hi}
		if base.sourceSG != "" {
			out = append(out, base)
		}
		for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
			for _, c := range r.list(key) {
				in := base
				in.sourceSG, in.cidr = "", fmt.Sprint(c)
				out = append(out, in)
			}
		}
	}
	for _, sg := range s.ByType(sgType) {
		for _, raw := range sg.list("ingress") {
			m, _ := raw.(map[string]any)
			from, _ := m["fromPort"].(float64)
			to, _ := m["toPort"].(float64)
			proto, _ := m["protocol"].(string)
			lo, hi := ports(proto, from, to)
			base := ingress{decl: sg, target: sg.URN, from: lo, to: hi}
			for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
				list, _ := m[key].([]any)
				for _, c := range list {
					in := base
					in.cidr = fmt.Sprint(c)
					out = append(out, in)
				}
			}
			if groups, _ := m["securityGroups"].([]any); len(groups) > 0 {
				for _, urn := range sg.Deps["ingress"] {
					in := base
					in.sourceSG = urn
					out = append(out, in)
				}
			}
		}
	}
	return out
}

func (s *Stack) tierOf(urn string) string {
	if r := s.Lookup(urn); r != nil {
		return r.Tier()
	}
	return ""
}

func networkRules() []Rule {
	return []Rule{
		{
			ID: "internet-ingress-lb-only", Level: Mandatory,
			Description: "Only the load balancer accepts traffic from the internet (0.0.0.0/0, ::/0), and only on 443 and 80.",
			Fix:         "Remove the rule, or point it at the load balancer's security group on port 443 (80 only redirects).",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, in := range ingresses(s) {
					if !in.world() {
						continue
					}
					if s.tierOf(in.target) != "lb" || in.from != in.to || (in.from != 443 && in.from != 80) {
						out = append(out, Finding{in.decl, fmt.Sprintf("opens ports %d-%d of the %q tier to %s",
							in.from, in.to, s.tierOf(in.target), in.cidr)})
					}
				}
				return out
			},
		},
		{
			ID: "ssh-from-bastion-only", Level: Mandatory,
			Description: "Port 22 is reachable only from the bastion's security group; the bastion only from admin CIDRs.",
			Fix:         "Allow SSH from the bastion security group (referencedSecurityGroupId) instead of a CIDR or another group.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, in := range ingresses(s) {
					if !in.covers(22) {
						continue
					}
					target := s.tierOf(in.target)
					switch {
					case in.sourceSG != "" && s.tierOf(in.sourceSG) != "bastion":
						out = append(out, Finding{in.decl, fmt.Sprintf("SSH to %q from the %q tier", target, s.tierOf(in.sourceSG))})
					case in.cidr != "" && target != "bastion":
						out = append(out, Finding{in.decl, fmt.Sprintf("SSH to %q straight from %s, bypassing the bastion", target, in.cidr)})
					}
				}
				return out
			},
		},
		{
			ID: "no-internet-path-to-data", Level: Mandatory,
			Description: "In the security-group graph no path leads from the internet to db, search or cache without passing the app tier.",
			Fix:         "Remove the ingress that lets a non-app tier reachable from the internet into the data tier.",
			Check: func(s *Stack) []Finding {
				edges := map[string][]string{}
				for _, in := range ingresses(s) {
					from := in.sourceSG
					if in.world() {
						from = internetNode
					}
					if from != "" && in.target != "" {
						edges[from] = append(edges[from], in.target)
					}
				}
				seen := map[string]bool{internetNode: true}
				queue := []string{internetNode}
				for len(queue) > 0 {
					n := queue[0]
					queue = queue[1:]
					for _, next := range edges[n] {
						if seen[next] || s.tierOf(next) == "app" {
							continue
						}
						seen[next] = true
						queue = append(queue, next)
					}
				}
				var out []Finding
				for urn := range seen {
					switch t := s.tierOf(urn); t {
					case "db", "search", "cache":
						out = append(out, Finding{s.Lookup(urn), fmt.Sprintf("the %s tier is reachable from the internet without passing the app tier", t)})
					}
				}
				return out
			},
		},
		{
			ID: "vpc-flow-logs", Level: Mandatory,
			Description: "Every VPC records its flow logs.",
			Fix:         "Add an aws.ec2.FlowLog (trafficType ALL) for the VPC to an encrypted log group.",
			Check: uncovered("aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog", "vpcId", "no flow log captures ALL of this VPC's traffic",
				func(fl *Resource) bool { return fl.str("trafficType") == "ALL" }),
		},
		{
			ID: "imdsv2-required", Level: Mandatory,
			Description: "Instances require IMDSv2 (session tokens) for the metadata service.",
			Fix:         "Set metadataOptions.httpTokens to \"required\".",
			Check: eachOf([]string{"aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"}, func(r *Resource) string {
				if r.str("metadataOptions.httpTokens") != "required" {
					return "metadataOptions.httpTokens is not \"required\": IMDSv1 lets SSRF steal the instance's credentials"
				}
				return ""
			}),
		},
		{
			ID: "no-public-ip", Level: Mandatory,
			Description: "Instances and subnets never hand out public IPs (the load balancer and the bastion's EIP are the only entry points).",
			Fix:         "Set associatePublicIpAddress \"false\" on launch templates and mapPublicIpOnLaunch false on subnets.",
			Check: func(s *Stack) []Finding {
				var out []Finding
				for _, lt := range s.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
					for i := range lt.list("networkInterfaces") {
						if lt.str(fmt.Sprintf("networkInterfaces.%d.associatePublicIpAddress", i)) != "false" {
							out = append(out, Finding{lt, "a network interface may get a public IP"})
						}
					}
				}
				for _, sn := range s.ByType("aws:ec2/subnet:Subnet") {
					if sn.truthy("mapPublicIpOnLaunch") {
						out = append(out, Finding{sn, "subnet maps public IPs on launch"})
					}
				}
				return out
			},
		},
	}
}

// uncovered builds a rule reporting every resource of typ that no resource of coverType (passing ok)
// references through prop: buckets without encryption configurations, VPCs without flow logs.
func uncovered(typ, coverType, prop, msg string, ok func(*Resource) bool) func(*Stack) []Finding {
	return func(s *Stack) []Finding {
		covered := map[string]bool{}
		for _, c := range s.ByType(coverType) {
			if ok(c) {
				covered[c.Ref(prop)] = true
			}
		}
		var out []Finding
		for _, r := range s.ByType(typ) {
			if !covered[r.URN] {
				out = append(out, Finding{r, msg})
			}
		}
		return out
	}
}

// eachOf builds a resource rule over the given types: check returns "" when r complies.
func eachOf(types []string, check func(r *Resource) string) func(*Stack) []Finding {
	return func(s *Stack) []Finding {
		var out []Finding
		for _, typ := range types {
			for _, r := range s.ByType(typ) {
				if msg := check(r); msg != "" {
					out = append(out, Finding{r, msg})
				}
			}
		}
		return out
	}
}
