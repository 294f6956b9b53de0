// Package graph builds a stack's resource graph from an offline evaluation: components as clusters, the
// resources in them, parent and dependency edges and, on request, the firewall's tier-to-tier flows with their
// ports. Pure: the DOT text is golden-tested; render.go hands it to Graphviz's dot for SVG.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/policy/rules"
)

// EdgeKind says what an edge means.
type EdgeKind string

// Edge kinds.
const (
	// Dependency: To takes an input from From (drawn From -> To, the way values flow).
	Dependency EdgeKind = "dependency"
	// Parent: From is the parent of To where the parent is not a component (components are clusters).
	Parent EdgeKind = "parent"
	// Flow: the firewall lets From open connections to To on Label's ports.
	Flow EdgeKind = "flow"
)

// Cluster is a component resource; Parent is the enclosing cluster's ID ("" at the top).
type Cluster struct {
	ID, Parent string
	Type, Name string
}

// Node is a custom resource (or, with flows, a source outside the stack: the internet, an admin CIDR).
type Node struct {
	ID      string
	Cluster string // "" outside every component
	Type    string
	Name    string
	// Provider names the resource's provider instance when it is not its package's most used one (the DR
	// region's aws provider).
	Provider string
	External bool // a flow source outside the stack
}

// Edge is one directed edge; Label carries a flow's ports.
type Edge struct {
	From, To string
	Kind     EdgeKind
	Label    string
}

// Graph is one stack's picture.
type Graph struct {
	Stack    string
	Clusters []Cluster
	Nodes    []Node
	Edges    []Edge
}

// Options choose what Build adds to the resource graph.
type Options struct {
	Flows bool
}

// Build turns an offline evaluation into a graph. IDs are stable across runs: clusters c1.., nodes r1.. in URN
// order (the mock engine registers concurrently, so registration order is not).
func Build(res *offline.Result, opts Options) *Graph {
	rs := append([]*offline.Resource(nil), res.Resources...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].URN < rs[j].URN })
	g := &Graph{Stack: res.Stack}
	ids := map[string]string{}   // URN -> node or cluster ID
	cluster := map[string]bool{} // IDs that are clusters
	byURN := map[string]*offline.Resource{}
	var clusterURNs []string
	nodes := 0
	for _, r := range rs {
		byURN[r.URN] = r
		switch {
		case r.URN == res.StackURN:
		case r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:"):
			nodes++
			ids[r.URN] = fmt.Sprintf("r%d", nodes)
		default:
			id := fmt.Sprintf("c%d", len(g.Clusters)+1)
			g.Clusters = append(g.Clusters, Cluster{ID: id, Type: r.Type, Name: r.Name})
			clusterURNs = append(clusterURNs, r.URN)
			ids[r.URN], cluster[id] = id, true
		}
	}
	// enclosing returns the ID of the nearest component above urn ("" when none).
	enclosing := func(urn string) string {
		for p := byURN[urn]; p != nil && p.Parent != ""; {
			if id := ids[p.Parent]; cluster[id] {
				return id
			}
			p = byURN[p.Parent]
		}
		return ""
	}
	for i := range g.Clusters {
		g.Clusters[i].Parent = enclosing(clusterURNs[i])
	}
	secondary := secondaryProviders(rs)
	edges := map[Edge]bool{}
	add := func(e Edge) {
		if e.From != "" && e.To != "" && e.From != e.To && !edges[e] {
			edges[e] = true
			g.Edges = append(g.Edges, e)
		}
	}
	for _, r := range rs {
		id, ok := ids[r.URN]
		if !ok || cluster[id] {
			continue
		}
		g.Nodes = append(g.Nodes, Node{ID: id, Cluster: enclosing(r.URN), Type: r.Type, Name: r.Name,
			Provider: secondary[providerURN(r.Provider)]})
		if p := ids[r.Parent]; p != "" && !cluster[p] {
			add(Edge{From: p, To: id, Kind: Parent})
		}
		for _, prop := range sortedKeys(r.Deps) {
			for _, dep := range r.Deps[prop] {
				if d := ids[dep]; d != "" && !cluster[d] {
					add(Edge{From: d, To: id, Kind: Dependency})
				}
			}
		}
	}
	if opts.Flows {
		addFlows(g, rules.Flows(policyeval.Stack(res)), ids, add)
	}
	sort.SliceStable(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.From != b.From {
			return idLess(a.From, b.From)
		}
		return idLess(a.To, b.To)
	})
	return g
}

// idLess orders IDs like r2 < r10 (prefix, then number).
func idLess(a, b string) bool {
	if a[0] != b[0] {
		return a[0] < b[0]
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// addFlows draws each allowed flow between the tiers' security groups (the internet and admin CIDRs become
// external nodes), one edge per source and target carrying every port.
func addFlows(g *Graph, flows []rules.Flow, ids map[string]string, add func(Edge)) {
	type pair struct{ from, to string }
	ports := map[pair][]string{}
	var order []pair
	external := map[string]string{}
	for _, f := range flows {
		from := ids[f.FromGroup]
		if f.FromGroup == "" {
			if external[f.From] == "" {
				external[f.From] = fmt.Sprintf("x%d", len(external)+1)
				g.Nodes = append(g.Nodes, Node{ID: external[f.From], Name: f.From, External: true})
			}
			from = external[f.From]
		}
		to := ids[f.ToGroup]
		if from == "" || to == "" {
			continue
		}
		p := pair{from, to}
		if _, ok := ports[p]; !ok {
			order = append(order, p)
		}
		port := fmt.Sprint(f.FromPort)
		if f.ToPort != f.FromPort {
			port = fmt.Sprintf("%d-%d", f.FromPort, f.ToPort)
		}
		if !contains(ports[p], port) {
			ports[p] = append(ports[p], port)
		}
	}
	for _, p := range order {
		add(Edge{From: p.from, To: p.to, Kind: Flow, Label: "tcp " + strings.Join(ports[p], ",")})
	}
}

// Counts are the graph's size by kind.
type Counts struct {
	Clusters, Nodes, Edges int
	ByKind                 map[EdgeKind]int
}

// Count sizes g.
func (g *Graph) Count() Counts {
	c := Counts{Clusters: len(g.Clusters), Nodes: len(g.Nodes), Edges: len(g.Edges), ByKind: map[EdgeKind]int{}}
	for _, e := range g.Edges {
		c.ByKind[e.Kind]++
	}
	return c
}

// secondaryProviders maps each provider URN that is not its package's most used one to its name.
func secondaryProviders(rs []*offline.Resource) map[string]string {
	uses := map[string]int{}
	for _, r := range rs {
		if p := providerURN(r.Provider); p != "" {
			uses[p]++
		}
	}
	best := map[string]string{} // package -> most used provider URN
	for _, p := range sortedKeys(uses) {
		pkg := providerPackage(p)
		if b, ok := best[pkg]; !ok || uses[p] > uses[b] {
			best[pkg] = p
		}
	}
	out := map[string]string{}
	for p := range uses {
		if best[providerPackage(p)] != p {
			out[p] = p[strings.LastIndex(p, "::")+2:]
		}
	}
	return out
}

// providerURN strips the "::id" the engine appends to a provider reference.
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

// providerPackage is "aws" for a URN of type pulumi:providers:aws.
func providerPackage(urn string) string {
	i := strings.Index(urn, "pulumi:providers:")
	if i < 0 {
		return ""
	}
	rest := urn[i+len("pulumi:providers:"):]
	if j := strings.Index(rest, "::"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
