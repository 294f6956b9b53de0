package live

import (
	"fmt"
	"regexp"
	"sort"
)

// A DR drill's stack (`<source>-drill-<time>`, stacks.BuildDrill) creates no network of its own: its load
// balancer, tiers and bastion name its source's DR VPC, subnets and security groups. Its platform therefore
// derives its State from its own records plus the source's DR network records (the DR VPC, its subnets, its
// security groups and their rules), attaches its hosts to the source's DR VPC bridge (shared: never removed
// by the drill), and enforces the DR security groups' rules on them. The drill database (drilldb.go) is a
// host of the drill's platform too, added as an overlay.

var drillStackRE = regexp.MustCompile(`^(.+)-(drill-[0-9]{8}T[0-9]{6}Z)$`)

// DrillSource says whether stack is a drill stack and of which source stack and drill id.
func DrillSource(stack string) (source, id string, ok bool) {
	m := drillStackRE.FindStringSubmatch(stack)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// DrillStack is the first drill stack in the report (nil: none runs).
func (r StatusReport) DrillStack() *StackStatus {
	for i := range r.Stacks {
		if _, _, ok := DrillSource(r.Stacks[i].Stack); ok {
			return &r.Stacks[i]
		}
	}
	return nil
}

// deleteBridge removes vpc's bridge unless it is shared (another platform's).
func (p *Platform) deleteBridge(vpc string) error {
	if _, ok := p.shared[vpc]; ok {
		return nil
	}
	return deleteBridge(p.bridges[vpc])
}

// shareBridges makes p attach to src's bridges for the VPCs of the same name (call before the first Apply).
func (p *Platform) shareBridges(src *Platform) {
	src.mu.Lock()
	shared := map[string]string{}
	for v, b := range src.bridges {
		shared[v] = b
	}
	src.mu.Unlock()
	p.mu.Lock()
	p.shared = shared
	p.mu.Unlock()
}

// setOverlay adds (fn != nil) or removes an overlay applied to every State p.Apply is given.
func (p *Platform) setOverlay(key string, fn func(State) State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.overlays == nil {
		p.overlays = map[string]func(State) State{}
	}
	if fn == nil {
		delete(p.overlays, key)
		return
	}
	p.overlays[key] = fn
}

func (p *Platform) withOverlays(s State) State {
	p.mu.Lock()
	keys := sortedKeys(p.overlays)
	fns := make([]func(State) State, len(keys))
	for i, k := range keys {
		fns[i] = p.overlays[k]
	}
	p.mu.Unlock()
	for _, fn := range fns {
		s = fn(s)
	}
	return s
}

// drNetworkRecords are the records of source's DR network: the VPC the DR replica's subnet group is in,
// its subnets, the security groups in it and their rules. Every problem names its record.
func drNetworkRecords(source []Record) ([]Record, error) {
	d := &deriver{byType: map[string][]Record{}}
	for _, r := range source {
		d.byType[r.Type] = append(d.byType[r.Type], r)
	}
	vpc := ""
	for _, r := range d.byType[typeRDS] {
		if rdsRole(r) != RoleDRReplica {
			continue
		}
		sg, ok := d.byName(typeRDSSubnets, str(r, "dbSubnetGroupName"))
		if !ok {
			return nil, fmt.Errorf("%s %s: db subnet group %q: no such subnet group", r.Type, r.Name, str(r, "dbSubnetGroupName"))
		}
		for _, sn := range d.byType[typeSubnet] {
			if ids := strs(sg, "subnetIds"); len(ids) > 0 && id(sn) == ids[0] {
				vpc = str(sn, "vpcId")
			}
		}
	}
	if vpc == "" {
		return nil, fmt.Errorf("no DR replica with a subnet group in a known VPC: a drill stack is built into its source's DR VPC")
	}
	var out []Record
	groups := map[string]bool{}
	for _, r := range source {
		switch {
		case r.Type == typeVPC && id(r) == vpc, r.Type == typeSubnet && str(r, "vpcId") == vpc:
			out = append(out, r)
		case r.Type == typeSG && str(r, "vpcId") == vpc:
			groups[id(r)] = true
			out = append(out, r)
		}
	}
	for _, r := range source {
		if (r.Type == typeIngress || r.Type == typeEgress) && groups[str(r, "securityGroupId")] {
			out = append(out, r)
		}
	}
	return out, nil
}

// withSourceNetwork is a drill stack's records plus its source's DR network records (h.mu held); other
// stacks' records are returned as they are.
func (h *Hook) withSourceNetwork(stack string, list []Record) ([]Record, error) {
	source, _, ok := DrillSource(stack)
	if !ok {
		return list, nil
	}
	recs, err := h.stack(source)
	if err != nil {
		return nil, err
	}
	src := make([]Record, 0, len(recs))
	for _, u := range sortedKeys(recs) {
		src = append(src, recs[u])
	}
	net, err := drNetworkRecords(src)
	if err != nil {
		return nil, fmt.Errorf("drill stack %s of %s: %w", stack, source, err)
	}
	out := append(append([]Record{}, list...), net...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, nil
}
