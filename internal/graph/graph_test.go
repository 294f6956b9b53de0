package graph_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/graph"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func evaluate(t *testing.T, stack string) *offline.Result {
	t.Helper()
	data, err := environments.EmbeddedStackFile(stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatalf("%s: %v", stack, err)
	}
	return res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/graph -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed (go test ./internal/graph -update to accept); got:\n%s", name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range g {
		if i >= len(w) || g[i] != w[i] {
			return fmt.Sprintf("line %d: %s", i+1, g[i])
		}
	}
	return "(got is a prefix of want)"
}

// TestProductionDOTGolden keeps production's picture, flows included, in testdata/production.dot, and checks
// its shape: every resource a node, every component a cluster, the firewall's flows between tier groups.
func TestProductionDOTGolden(t *testing.T) {
	res := evaluate(t, environments.Production)
	g := graph.Build(res, graph.Options{Flows: true})
	var buf bytes.Buffer
	if err := graph.WriteDOT(&buf, g); err != nil {
		t.Fatal(err)
	}
	golden(t, "production.dot", buf.Bytes())

	c := g.Count()
	components, resources := 0, 0
	for _, r := range res.Resources {
		switch {
		case r.URN == res.StackURN:
		case r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:"):
			resources++
		default:
			components++
		}
	}
	if c.Clusters != components || c.Clusters < 10 {
		t.Errorf("clusters %d, components %d", c.Clusters, components)
	}
	external := 0
	for _, n := range g.Nodes {
		if n.External {
			external++
		}
	}
	if c.Nodes-external != resources || resources < 250 {
		t.Errorf("resource nodes %d, resources %d", c.Nodes-external, resources)
	}
	if external < 3 { // the internet, the admin CIDRs, the VPCs' own ranges (to the endpoints)
		t.Errorf("external flow sources %d, want the internet and CIDRs", external)
	}
	if c.ByKind[graph.Dependency] < resources/2 {
		t.Errorf("only %d dependency edges for %d resources", c.ByKind[graph.Dependency], resources)
	}
	dot := buf.String()
	for _, want := range []string{
		`[label="internet", shape=ellipse`,
		`label="tcp 80,443"`, // internet -> lb
		`label="tcp 3306"`,   // app/worker/bastion -> db
		`label="tcp 6379"`,   // app/worker -> cache
		`label="tcp 22"`,     // bastion -> instance tiers, admins -> bastion
		`subgraph cluster_`, `label="network: production-network"`, "(provider production-aws-eu-central-1)",
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("production DOT lacks %s", want)
		}
	}
	t.Logf("production: %d nodes (%d resources + %d flow sources) in %d clusters, %d edges (%d dependency, %d parent, %d flow)",
		c.Nodes, c.Nodes-external, external, c.Clusters, c.Edges, c.ByKind[graph.Dependency], c.ByKind[graph.Parent], c.ByKind[graph.Flow])
}

// TestFlowsOnlyWhenAsked: without --flows there are no flow edges or external nodes.
func TestFlowsOnlyWhenAsked(t *testing.T) {
	g := graph.Build(evaluate(t, environments.Staging), graph.Options{})
	if n := g.Count().ByKind[graph.Flow]; n != 0 {
		t.Errorf("%d flow edges without Flows", n)
	}
	for _, n := range g.Nodes {
		if n.External {
			t.Errorf("external node %+v without Flows", n)
		}
	}
}

// TestBuildSmall checks the rules on a hand-made evaluation: nested components become nested clusters, a
// custom parent becomes a dashed parent edge, dependencies point from the value's source to its user,
// duplicates and self-references vanish, and the less used provider of a package is named on its resources.
func TestBuildSmall(t *testing.T) {
	const stack = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
	res := &offline.Result{Stack: "s", StackURN: stack, Resources: []*offline.Resource{
		{URN: stack, Type: "pulumi:pulumi:Stack"},
		{URN: "u:net", Type: "plinth:network:Network", Name: "s-network", Parent: stack},
		{URN: "u:sub", Type: "plinth:network:Sub", Name: "s-network-sub", Parent: "u:net"},
		{URN: "u:p1", Type: "pulumi:providers:aws", Name: "primary", Custom: true, Parent: stack},
		{URN: "u:p2", Type: "pulumi:providers:aws", Name: "dr", Custom: true, Parent: stack},
		{URN: "u:vpc", Type: "aws:ec2/vpc:Vpc", Name: "s-network-vpc", Custom: true, Parent: "u:net", Provider: "urn:pulumi:s::p::pulumi:providers:aws::primary::id1"},
		{URN: "u:subnet", Type: "aws:ec2/subnet:Subnet", Name: "s-network-sub-a", Custom: true, Parent: "u:sub",
			Provider: "urn:pulumi:s::p::pulumi:providers:aws::primary::id1",
			Deps:     map[string][]string{"vpcId": {"u:vpc", "u:vpc"}, "self": {"u:subnet"}, "comp": {"u:net"}}},
		{URN: "u:assoc", Type: "aws:ec2/routeTableAssociation:RouteTableAssociation", Name: "assoc", Custom: true, Parent: "u:subnet",
			Provider: "urn:pulumi:s::p::pulumi:providers:aws::dr::id2"},
	}}
	g := graph.Build(res, graph.Options{})
	var buf bytes.Buffer
	if err := graph.WriteDOT(&buf, g); err != nil {
		t.Fatal(err)
	}
	golden(t, "small.dot", buf.Bytes())
	c := g.Count()
	if c.Clusters != 2 || c.Nodes != 5 || c.ByKind[graph.Dependency] != 1 || c.ByKind[graph.Parent] != 1 {
		t.Errorf("counts %+v\n%s", c, buf.String())
	}
}

// TestRenderSVGWithRealDot renders production's DOT through the installed Graphviz and checks the SVG parses
// and holds every cluster and node title.
func TestRenderSVGWithRealDot(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Fatal("Graphviz's dot is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	g := graph.Build(evaluate(t, environments.Production), graph.Options{Flows: true})
	var src bytes.Buffer
	if err := graph.WriteDOT(&src, g); err != nil {
		t.Fatal(err)
	}
	svg, err := graph.Dot{}.Render(context.Background(), src.Bytes(), "svg")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Groups  []struct {
			Groups []struct {
				Class string `xml:"class,attr"`
				Title string `xml:"title"`
			} `xml:"g"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("dot's output is not SVG: %v", err)
	}
	counts := map[string]int{}
	for _, top := range doc.Groups {
		for _, el := range top.Groups {
			counts[el.Class]++
		}
	}
	c := g.Count()
	if counts["cluster"] != c.Clusters || counts["node"] != c.Nodes || counts["edge"] != c.Edges {
		t.Errorf("SVG has %v; graph has %d clusters, %d nodes, %d edges", counts, c.Clusters, c.Nodes, c.Edges)
	}
	if _, err := (graph.Dot{Path: filepath.Join(t.TempDir(), "no-dot")}).Render(context.Background(), src.Bytes(), "svg"); err == nil {
		t.Error("a missing dot binary rendered")
	}
}
