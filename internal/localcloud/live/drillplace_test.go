package live

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/stacks"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// drillStackRecords evaluates production's drill stack offline (stacks.BuildDrill from production's own
// config and its inventory's DR network) and returns production's records and the drill stack's.
func drillStackRecords(t *testing.T, id string) (prod, drill []Record) {
	t.Helper()
	data, err := environments.EmbeddedStackFile("production")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := offline.Evaluate(environments.Project, "production", cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := contract.Parse(res.Outputs)
	if err != nil || inv.DRNetwork == nil {
		t.Fatalf("production exports no drNetwork: %v", err)
	}
	values, err := environments.DrillStackConfig(cfg.Values, environments.Drill{ID: id, DatabaseEndpoint: "10.31.2.250:3306", Network: *inv.DRNetwork})
	if err != nil {
		t.Fatal(err)
	}
	dres, err := offline.Evaluate(environments.Project, environments.DrillStackName("production", id), values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		from []*offline.Resource
		into *[]Record
	}{{res.Resources, &prod}, {dres.Resources, &drill}} {
		for _, r := range set.from {
			if r.Custom {
				*set.into = append(*set.into, Record{Type: r.Type, Name: r.Name, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
			}
		}
	}
	return prod, drill
}

// TestDrillStackOnTheSourcesDRNetwork: a drill stack's records name production's DR VPC, subnets and
// groups; with production's DR network records added, its hosts, load balancer and bastion are in the DR
// VPC, in the DR groups, whose rules are production's DR firewall's.
func TestDrillStackOnTheSourcesDRNetwork(t *testing.T) {
	const id = "drill-20261203T063000Z"
	prod, drill := drillStackRecords(t, id)
	if _, err := StateFromRecords(drill, "", nil); err == nil {
		t.Fatal("a drill stack's records alone derive a state: they should name production's network")
	}
	net, err := drNetworkRecords(prod)
	if err != nil {
		t.Fatal(err)
	}
	vpcs := 0
	for _, r := range net {
		if r.Type == typeVPC {
			vpcs++
			if c := str(r, "cidrBlock"); c != "10.31.0.0/16" {
				t.Errorf("DR VPC %s: cidr %s", r.Name, c)
			}
		}
	}
	if vpcs != 1 {
		t.Fatalf("%d VPCs in production's DR network records, want 1", vpcs)
	}
	s, err := StateFromRecords(append(drill, net...), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	dr := netip.MustParsePrefix("10.31.0.0/16")
	tiers := map[string]int{}
	for _, h := range s.Hosts {
		tiers[h.Tier]++
		if !dr.Contains(h.Address) || len(h.Groups) == 0 {
			t.Errorf("host %s at %s groups %v: want the DR VPC and DR groups", h.Name, h.Address, h.Groups)
		}
	}
	if tiers["bastion"] != 1 || tiers["app"] < 1 || s.LB == nil || !dr.Contains(s.LB.Address) || len(s.LB.Target.Targets) == 0 {
		t.Fatalf("drill state: tiers %v, load balancer %+v", tiers, s.LB)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if src, got, ok := DrillSource(environments.DrillStackName("production", id)); !ok || src != "production" || got != id {
		t.Errorf("DrillSource: %q %q %v", src, got, ok)
	}
	if _, _, ok := DrillSource("production"); ok {
		t.Error("production is not a drill stack")
	}
	a, b := StackID("production-"+id), StackID("production-drill-20261203T063001Z")
	if a == StackID("production") || a == b || !idRE.MatchString(a) || !strings.HasPrefix(PlatformID("/h", "production-"+id), "d") {
		t.Errorf("drill stack ids %s %s must differ from production's %s and each other", a, b, StackID("production"))
	}
}

// TestDrillRequestsAreChecked: the server's drill operations name a bad drill id, refuse a stack it runs
// no platform for, and a teardown of a drill it never saw is clean (idempotent from any state).
func TestDrillRequestsAreChecked(t *testing.T) {
	ctx := context.Background()
	s := &Server{platforms: map[string]*Platform{}, drills: map[string]*drillRun{}, hook: &Hook{}}
	const id = "drill-20261203T063000Z"
	acc, err := s.drillTeardown(ctx, DrillRequest{Stack: "production", Drill: id})
	if err != nil || len(acc.Left) != 0 || acc.DrillStack != "production-"+id {
		t.Errorf("teardown of an unknown drill: %+v %v", acc, err)
	}
	for _, op := range []func(context.Context, DrillRequest) (DrillAccess, error){s.drillOpen, s.drillDatabase, s.drillTeardown} {
		if _, err := op(ctx, DrillRequest{Stack: "production", Drill: "drill-1; DROP"}); err == nil || !strings.Contains(err.Error(), "drill-1; DROP") {
			t.Errorf("bad drill id: %v", err)
		}
	}
	if _, err := s.drillDatabase(ctx, DrillRequest{Stack: "production", Drill: id}); err == nil || !strings.Contains(err.Error(), "production runs no live platform") {
		t.Errorf("drill database without production: %v", err)
	}
	if _, err := s.drillPromote(ctx, DrillRequest{Stack: "production", Drill: id}); err == nil {
		t.Error("promote of a drill database never created: no error")
	}
}
