package graph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// colours are a component cluster's fill and border by its module (plinth:<module>:<Type>).
func colours(module string) (fill, border string) {
	switch module {
	case "network":
		return "#eef4fb", "#7b9cc4"
	case "firewall":
		return "#fdf1f0", "#d08a80"
	case "loadbalancer":
		return "#f3f0fb", "#9b8cc8"
	case "tier":
		return "#eff8f1", "#7fb08c"
	case "bastion":
		return "#fff7e6", "#d1a54f"
	case "database":
		return "#eef8f8", "#6fb0b0"
	case "search":
		return "#f8f3ea", "#b99b6b"
	case "backupvault":
		return "#f1f5fe", "#6b8fd6"
	}
	return "#f4f6f8", "#8a99a8"
}

// WriteDOT renders g as Graphviz DOT: left to right, each component a filled cluster (nested as the
// components nest), resources as boxes labelled with their type and their name less the component's prefix,
// dependencies as grey arrows, non-component parents dashed, flows blue and labelled with their ports.
func WriteDOT(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	c := g.Count()
	title := fmt.Sprintf("%s: %d resources in %d components, %d dependency edges", g.Stack,
		c.Nodes-externalCount(g), c.Clusters, c.ByKind[Dependency])
	if n := c.ByKind[Flow]; n > 0 {
		title += fmt.Sprintf(", %d firewall flows (blue)", n)
	}
	fmt.Fprintf(bw, "digraph %s {\n", quote(g.Stack))
	fmt.Fprintf(bw, "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=14, labelloc=t, label=%s, nodesep=0.12, ranksep=0.5];\n", quote(title))
	bw.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#5f6b7a\", fontname=\"Helvetica\", fontsize=9, height=0.3, margin=\"0.08,0.03\"];\n")
	bw.WriteString("  edge [color=\"#9aa5b1\", arrowsize=0.5, penwidth=0.7];\n")

	children := map[string][]Cluster{}
	for _, cl := range g.Clusters {
		children[cl.Parent] = append(children[cl.Parent], cl)
	}
	members := map[string][]Node{}
	for _, n := range g.Nodes {
		members[n.Cluster] = append(members[n.Cluster], n)
	}
	names := map[string]string{}
	for _, cl := range g.Clusters {
		names[cl.ID] = cl.Name
	}
	var writeCluster func(cl Cluster, depth int)
	writeCluster = func(cl Cluster, depth int) {
		ind := strings.Repeat("  ", depth)
		fill, border := colours(module(cl.Type))
		fmt.Fprintf(bw, "%ssubgraph cluster_%s {\n", ind, cl.ID)
		fmt.Fprintf(bw, "%s  label=%s; style=\"rounded,filled\"; fillcolor=%s; color=%s; fontsize=12;\n", ind,
			quote(module(cl.Type)+": "+cl.Name), quote(fill), quote(border))
		for _, n := range members[cl.ID] {
			writeNode(bw, ind+"  ", n, names[cl.ID])
		}
		for _, sub := range children[cl.ID] {
			writeCluster(sub, depth+1)
		}
		fmt.Fprintf(bw, "%s}\n", ind)
	}
	for _, cl := range children[""] {
		writeCluster(cl, 1)
	}
	for _, n := range members[""] {
		writeNode(bw, "  ", n, "")
	}
	for _, e := range g.Edges {
		switch e.Kind {
		case Parent:
			fmt.Fprintf(bw, "  %s -> %s [style=dashed];\n", e.From, e.To)
		case Flow:
			fmt.Fprintf(bw, "  %s -> %s [color=\"#1f6feb\", fontcolor=\"#1f6feb\", fontsize=8, penwidth=1.3, arrowsize=0.7, label=%s];\n",
				e.From, e.To, quote(e.Label))
		default:
			fmt.Fprintf(bw, "  %s -> %s;\n", e.From, e.To)
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

func writeNode(w io.Writer, ind string, n Node, prefix string) {
	if n.External {
		fmt.Fprintf(w, "%s%s [label=%s, shape=ellipse, fillcolor=\"#ffe9e6\", color=\"#c0504d\", fontsize=11];\n", ind, n.ID, quote(n.Name))
		return
	}
	name := n.Name
	if prefix != "" && strings.HasPrefix(name, prefix+"-") && len(name) > len(prefix)+1 {
		name = name[len(prefix)+1:]
	}
	label := shortType(n.Type) + "\n" + name
	if n.Provider != "" {
		label += "\n(provider " + n.Provider + ")"
	}
	attrs := ""
	if strings.HasPrefix(n.Type, "pulumi:providers:") {
		attrs = ", shape=component, fillcolor=\"#fffbe6\""
	}
	fmt.Fprintf(w, "%s%s [label=%s%s];\n", ind, n.ID, quote(label), attrs)
}

func externalCount(g *Graph) int {
	n := 0
	for _, x := range g.Nodes {
		if x.External {
			n++
		}
	}
	return n
}

// shortType is the last part of a type token: aws:ec2/subnet:Subnet -> Subnet; pulumi:providers:aws -> provider aws.
func shortType(t string) string {
	if p, ok := strings.CutPrefix(t, "pulumi:providers:"); ok {
		return "provider " + p
	}
	return t[strings.LastIndex(t, ":")+1:]
}

// module is the middle part of a component type token: plinth:network:Network -> network.
func module(t string) string {
	parts := strings.Split(t, ":")
	if len(parts) == 3 {
		return parts[1]
	}
	return t
}

// quote makes s a DOT string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
