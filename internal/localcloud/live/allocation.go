package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AllocationFile is the name of a stack's allocation in its platform directory.
const AllocationFile = "allocation.json"

// Allocation is what a stack's live platform was given, kept in <platform dir>/allocation.json so that a
// restart (`plinth local stop` then `local start`, or a server that crashed) brings the same hosts back at the
// same addresses, behind the same published ports, with the healing replacements made so far.
type Allocation struct {
	Stack string `json:"stack"`
	// Addresses are the addresses given to each host and load balancer, by the engine's key (StateFromRecords).
	Addresses Addresses `json:"addresses"`
	// Names maps the name the engine's records give a host to the name it runs under (a replacement's).
	Names map[string]string `json:"names"`
	// Published are the 127.0.0.1 ports of https, http and ssh.
	Published map[string]int `json:"published"`
	// Replacements are the hosts healing replaced, oldest first.
	Replacements []ReplacementRecord `json:"replacements"`
}

// ReplacementRecord is one healing replacement as the allocation keeps it.
type ReplacementRecord struct {
	Tier       string    `json:"tier"`
	Old        string    `json:"old"`
	OldAddress string    `json:"oldAddress"`
	New        string    `json:"new"`
	NewAddress string    `json:"newAddress"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// EndsPlatform reports whether deleting a resource of type typ ends a stack's live platform (a VPC: only a
// destroy deletes it), so that what a stopped stack kept for a restart can be dropped.
func EndsPlatform(typ string) bool { return typ == typeVPC }

// LoadAllocation reads dir's allocation; none yet is an empty one.
func LoadAllocation(dir, stack string) (*Allocation, error) {
	a := &Allocation{Stack: stack}
	b, err := os.ReadFile(filepath.Join(dir, AllocationFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("allocation: %w", err)
	default:
		if err := json.Unmarshal(b, a); err != nil {
			return nil, fmt.Errorf("allocation %s: %w", filepath.Join(dir, AllocationFile), err)
		}
	}
	if a.Stack == "" {
		a.Stack = stack
	}
	if a.Addresses == nil {
		a.Addresses = Addresses{}
	}
	if a.Names == nil {
		a.Names = map[string]string{}
	}
	if a.Published == nil {
		a.Published = map[string]int{}
	}
	return a, nil
}

// Save writes the allocation to dir (atomically, 0600).
func (a *Allocation) Save(dir string) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("allocation: %w", err)
	}
	tmp := filepath.Join(dir, AllocationFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("allocation: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, AllocationFile)); err != nil {
		return fmt.Errorf("allocation: %w", err)
	}
	return nil
}

// AllocatedStacks lists the stacks that have an allocation under root (<root>/<id>/allocation.json).
func AllocatedStacks(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "*", AllocationFile))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		a, err := LoadAllocation(filepath.Dir(f), "")
		if err != nil {
			return nil, err
		}
		if a.Stack != "" {
			out = append(out, a.Stack)
		}
	}
	sort.Strings(out)
	return out, nil
}

// rename gives the derived state the names healing replacements run under (hosts and the load balancer's
// targets), forgets the names of hosts scaled in, and gives a new host whose derived name a replacement
// already uses the tier's next free name.
func (a *Allocation) rename(s *State) {
	derived := map[string]bool{}
	for _, h := range s.Hosts {
		derived[h.Name] = true
	}
	for d := range a.Names {
		if !derived[d] {
			delete(a.Names, d)
		}
	}
	used := map[string]bool{}
	for _, h := range s.Hosts {
		if n, ok := a.Names[h.Name]; ok {
			used[n] = true
		}
	}
	for _, h := range s.Hosts {
		if _, ok := a.Names[h.Name]; !ok && used[h.Name] {
			n := nextName(h.Tier, s.Hosts, used, a.Names)
			a.Names[h.Name], used[n] = n, true
		}
	}
	if len(a.Names) == 0 {
		return
	}
	hosts := append([]Host(nil), s.Hosts...)
	for i, h := range hosts {
		if n, ok := a.Names[h.Name]; ok {
			hosts[i].Name = n
		}
	}
	s.Hosts = hosts
	if s.LB != nil {
		lb := *s.LB
		lb.Target.Targets = append([]string(nil), lb.Target.Targets...)
		for i, t := range lb.Target.Targets {
			if n, ok := a.Names[t]; ok {
				lb.Target.Targets[i] = n
			}
		}
		s.LB = &lb
	}
}

// nextName is tier-N with N above every number a host of the tier has or will have.
func nextName(tier string, hosts []Host, used map[string]bool, names map[string]string) string {
	highest := 0
	see := func(n string) {
		if rest, ok := strings.CutPrefix(n, tier+"-"); ok {
			if i, err := strconv.Atoi(rest); err == nil && i > highest {
				highest = i
			}
		}
	}
	for _, h := range hosts {
		see(h.Name)
	}
	for n := range used {
		see(n)
	}
	for _, n := range names {
		see(n)
	}
	return fmt.Sprintf("%s-%d", tier, highest+1)
}

// replaced records a healing replacement: the engine's key of the old host keeps the new address, its derived
// name maps to the new name.
func (a *Allocation) replaced(r Replacement) {
	for k, addr := range a.Addresses {
		if addr == r.Old.Address {
			a.Addresses[k] = r.New.Address
		}
	}
	derived := r.Old.Name
	for d, n := range a.Names {
		if n == r.Old.Name {
			derived = d
		}
	}
	a.Names[derived] = r.New.Name
	a.Replacements = append(a.Replacements, ReplacementRecord{Tier: r.New.Tier, Old: r.Old.Name, OldAddress: r.Old.Address.String(),
		New: r.New.Name, NewAddress: r.New.Address.String(), Reason: r.Reason, At: time.Now().UTC()})
}

// allocation is the stack's allocation, loaded on first use (an empty one without AllocationDir).
func (h *Hook) allocation(stack string) (*Allocation, error) {
	if h.allocs == nil {
		h.allocs = map[string]*Allocation{}
	}
	if a, ok := h.allocs[stack]; ok {
		return a, nil
	}
	a := &Allocation{Stack: stack, Addresses: Addresses{}, Names: map[string]string{}, Published: map[string]int{}}
	if h.AllocationDir != nil {
		var err error
		if a, err = LoadAllocation(h.AllocationDir(stack), stack); err != nil {
			return nil, err
		}
	}
	h.allocs[stack] = a
	return a, nil
}

// saveAllocation records the platform's published ports and writes the allocation; a stack left with
// nothing live loses its allocation file.
func (h *Hook) saveAllocation(stack string, s State, p *Platform) error {
	if h.AllocationDir == nil {
		return nil
	}
	a, err := h.allocation(stack)
	if err != nil {
		return err
	}
	dir := h.AllocationDir(stack)
	if len(s.Hosts) == 0 && s.LB == nil { // nothing to bring back (a destroy's last steps, or not yet any)
		delete(h.allocs, stack)
		if err := os.Remove(filepath.Join(dir, AllocationFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("allocation: %w", err)
		}
		return nil
	}
	a.Published = p.PublishedPorts()
	return a.Save(dir)
}

// Resume brings a stack's platform to what its records say (after `plinth local stop`, or an engine run
// that changed nothing the live cloud plays): the records seeded from the local cloud's store, the
// addresses, names and ports of its allocation.
func (h *Hook) Resume(ctx context.Context, stack string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs, err := h.stack(stack)
	if err != nil {
		return err
	}
	if err := h.reconcile(ctx, stack, recs); err != nil {
		return fmt.Errorf("live %s: %w", stack, err)
	}
	return nil
}

// Heal replaces the stack's failed hosts (Platform.Heal) and records each replacement in the allocation,
// so that the engine's next change, and a restart, keep the replacement.
func (h *Hook) Heal(ctx context.Context, stack string, p *Platform) ([]Replacement, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	reps, err := p.Heal(ctx)
	if len(reps) == 0 {
		return nil, err
	}
	a, aerr := h.allocation(stack)
	if aerr != nil {
		return reps, errors.Join(err, aerr)
	}
	for _, r := range reps {
		a.replaced(r)
	}
	if h.AllocationDir != nil {
		err = errors.Join(err, a.Save(h.AllocationDir(stack)))
	}
	return reps, err
}

// PublishedPorts are the 127.0.0.1 ports of the published https, http and ssh listeners.
func (p *Platform) PublishedPorts() map[string]int {
	out := map[string]int{}
	for _, n := range []string{"https", "http", "ssh"} {
		if a := p.pub.addr(n); a != "" {
			if ap, err := netip.ParseAddrPort(a); err == nil {
				out[n] = int(ap.Port())
			}
		}
	}
	return out
}
