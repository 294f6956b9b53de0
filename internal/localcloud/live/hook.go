package live

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// plays are the resource types whose changes reshape the live platform.
var plays = map[string]bool{typeVPC: true, typeSubnet: true, typeSG: true, typeIngress: true, typeEgress: true,
	typeASG: true, typeLT: true, typeLB: true, typeTG: true,
	// the data tier (datarecords.go)
	typeRDS: true, typeRDSSubnets: true, typeRDSParams: true, typeCacheGroup: true, typeCacheSubnets: true, typeBucket: true,
	typeSecretVersion: true, typeSearch: true}

// Hook attaches the live cloud to the local cloud's provider (localcloud.Hook): it keeps each stack's
// records, seeded from what the local cloud recorded before this run, and after every change of a type the
// live cloud plays derives the stack's State (StateFromRecords) and applies it to the stack's Platform. An
// error fails the engine's step, and the change is forgotten as the provider forgets it.
type Hook struct {
	// Platform returns the stack's platform (created on first use by the caller).
	Platform func(stack string) (*Platform, error)
	// Seed returns what the local cloud recorded for the stack so far (its store's List); nil: nothing.
	Seed func(stack string) ([]localcloud.Resource, error)
	// AuthorizedKeys are the keys every host accepts (the operator key's public half).
	AuthorizedKeys string
	// Secrets is the local cloud's Secrets Manager of a stack (datasecrets.go); nil: kept in memory.
	Secrets func(stack string) *Secrets
	// AllocationDir, when set, is where each stack's allocation (addresses, names, ports) is kept
	// (allocation.go); nil: in memory only.
	AllocationDir func(stack string) string

	mu      sync.Mutex
	records map[string]map[string]Record // stack -> URN -> record
	allocs  map[string]*Allocation       // stack -> the addresses and names given so far
	mem     map[string]*Secrets          // stack -> in-memory secrets when Secrets is nil
}

// Apply implements localcloud.Hook.
func (h *Hook) Apply(ctx context.Context, c localcloud.Change) (map[string]any, error) {
	if !plays[c.Type] {
		return c.Outputs, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	recs, err := h.stack(c.Stack)
	if err != nil {
		return nil, err
	}
	prev, had := recs[c.URN]
	if c.Op == localcloud.OpDelete {
		delete(recs, c.URN)
	} else {
		recs[c.URN] = Record{Type: c.Type, Name: urnName(c.URN), ID: c.ID, Inputs: c.Inputs, Outputs: c.Outputs}
	}
	if err := h.reconcile(ctx, c.Stack, recs); err != nil {
		if had {
			recs[c.URN] = prev
		} else {
			delete(recs, c.URN)
		}
		return nil, fmt.Errorf("live %s: %w", c.Stack, err)
	}
	if c.Op != localcloud.OpDelete {
		if p, err := h.Platform(c.Stack); err == nil {
			return p.DataOutputs(c.Type, urnName(c.URN), c.Outputs), nil
		}
	}
	return c.Outputs, nil
}

func (h *Hook) stack(stack string) (map[string]Record, error) {
	if h.records == nil {
		h.records = map[string]map[string]Record{}
	}
	if recs, ok := h.records[stack]; ok {
		return recs, nil
	}
	recs := map[string]Record{}
	if h.Seed != nil {
		seed, err := h.Seed(stack)
		if err != nil {
			return nil, fmt.Errorf("live %s: seed: %w", stack, err)
		}
		for _, r := range seed {
			if plays[r.Type] {
				recs[r.URN] = Record{Type: r.Type, Name: r.Name(), ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs}
			}
		}
	}
	h.records[stack] = recs
	return recs, nil
}

func (h *Hook) reconcile(ctx context.Context, stack string, recs map[string]Record) error {
	urns := make([]string, 0, len(recs))
	for u := range recs {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	list := make([]Record, len(urns))
	for i, u := range urns {
		list[i] = recs[u]
	}
	list, err := h.withSourceNetwork(stack, list) // a drill stack's network is its source's (drillplace.go)
	if err != nil {
		return err
	}
	a, err := h.allocation(stack)
	if err != nil {
		return err
	}
	s, err := StateFromRecords(list, h.AuthorizedKeys, a.Addresses)
	if err != nil {
		return err
	}
	a.rename(&s) // healing replacements keep their names
	spec, err := DataFromRecords(list, s, stack, h.secrets(stack))
	if err != nil {
		return err
	}
	p, err := h.Platform(stack)
	if err != nil {
		return err
	}
	if err := reconcileData(ctx, p, s, spec, h.secrets(stack), h.appSecrets(stack)); err != nil {
		return err
	}
	return h.saveAllocation(stack, s, p)
}

func (h *Hook) secrets(stack string) *Secrets {
	if h.Secrets != nil {
		return h.Secrets(stack)
	}
	if h.mem == nil {
		h.mem = map[string]*Secrets{}
	}
	if h.mem[stack] == nil {
		h.mem[stack] = OpenSecrets("")
	}
	return h.mem[stack]
}

// urnName is a URN's last segment, the resource's logical name.
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}
