package live

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// TableName is the nftables table holding a host's security groups, in the host's own namespace.
const TableName = "plinth"

// Members maps a security group id to the addresses of the hosts (and load balancer) in it.
type Members map[string][]netip.Addr

// members computes group membership from the state.
func members(s State) Members {
	m := Members{}
	add := func(a netip.Addr, groups []string) {
		for _, g := range groups {
			m[g] = append(m[g], a)
		}
	}
	for _, h := range s.Hosts {
		add(h.Address, h.Groups)
	}
	if s.LB != nil {
		add(s.LB.Address, s.LB.Groups)
	}
	for g := range m {
		sort.Slice(m[g], func(i, j int) bool { return m[g][i].Less(m[g][j]) })
	}
	return m
}

// RenderRuleset renders the nftables ruleset enforcing groups (the host's security groups, as the engine
// created them) on a host: everything is dropped in both directions except loopback, replies, and the flows
// the groups' rules allow; a rule naming a group matches that group's members' addresses. Loading it replaces
// the previous one atomically.
func RenderRuleset(host string, groups []SecurityGroup, m Members) string {
	var b strings.Builder
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID + " (" + g.Tier + ")"
	}
	fmt.Fprintf(&b, "# plinth live: security groups of %s: %s (generated: internal/localcloud/live/firewall.go)\n",
		host, strings.Join(ids, ", "))
	fmt.Fprintf(&b, "table inet %[1]s\ndelete table inet %[1]s\ntable inet %[1]s {\n", TableName)
	chain := func(name, hook, iface, dir string, rules func(SecurityGroup) []Rule) {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy drop;\n", name, hook)
		fmt.Fprintf(&b, "\t\t%s \"lo\" accept\n\t\tct state established,related accept\n\t\tct state invalid drop\n", iface)
		for _, g := range groups {
			for _, r := range rules(g) {
				b.WriteString(ruleLine(g, r, dir, m))
			}
		}
		b.WriteString("\t}\n")
	}
	chain("input", "input", "iif", "saddr", func(g SecurityGroup) []Rule { return g.Ingress })
	chain("output", "output", "oif", "daddr", func(g SecurityGroup) []Rule { return g.Egress })
	b.WriteString("}\n")
	return b.String()
}

func ruleLine(g SecurityGroup, r Rule, dir string, m Members) string {
	ports := fmt.Sprint(r.FromPort)
	if r.ToPort != r.FromPort {
		ports = fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
	}
	what := r.Purpose
	if what == "" {
		what = "rule"
	}
	var match string
	switch {
	case r.CIDR.IsValid() && r.CIDR.Addr().Is4():
		match = fmt.Sprintf("ip %s %s ", dir, r.CIDR.Masked())
	case r.CIDR.IsValid():
		match = fmt.Sprintf("ip6 %s %s ", dir, r.CIDR.Masked())
	default:
		addrs := m[r.Group]
		if len(addrs) == 0 {
			return fmt.Sprintf("\t\t# %s: %s: group %s has no members\n", g.ID, what, r.Group)
		}
		s := make([]string, len(addrs))
		for i, a := range addrs {
			s[i] = a.String()
		}
		match = fmt.Sprintf("ip %s { %s } ", dir, strings.Join(s, ", "))
		what += " (group " + r.Group + ")"
	}
	return fmt.Sprintf("\t\t# %s: %s\n\t\t%stcp dport %s accept\n", g.ID, what, match, ports)
}

// groupsOf returns the security groups named by ids, in the order given.
func groupsOf(all []SecurityGroup, ids []string) []SecurityGroup {
	byID := map[string]SecurityGroup{}
	for _, g := range all {
		byID[g.ID] = g
	}
	out := make([]SecurityGroup, 0, len(ids))
	for _, id := range ids {
		if g, ok := byID[id]; ok {
			out = append(out, g)
		}
	}
	return out
}

// loadRuleset writes the ruleset under dir and loads it with `nft -f` inside the host's namespace.
func loadRuleset(ctx context.Context, nsName, dir, ruleset string) error {
	path := filepath.Join(dir, "ruleset.nft")
	if err := os.WriteFile(path, []byte(ruleset), 0o600); err != nil {
		return fmt.Errorf("firewall %s: %w", nsName, err)
	}
	out, err := exec.CommandContext(ctx, nsenterBin, "--net="+netnsDir+"/"+nsName, "--", nftBin, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("firewall %s: nft -f %s: %w: %s", nsName, path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// listTables lists the nftables tables of a namespace ("" = the root namespace).
func listTables(ctx context.Context, nsName string) ([]string, error) {
	argv := []string{nftBin, "list", "tables"}
	if nsName != "" {
		argv = append([]string{nsenterBin, "--net=" + netnsDir + "/" + nsName, "--"}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("nft list tables %s: %w: %s", nsName, err, strings.TrimSpace(string(out)))
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " ")), nil
}
