package live

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestAllocationKeepsReplacementsAcrossDerivations(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadAllocation(dir, "staging")
	if err != nil || a.Stack != "staging" || len(a.Addresses) != 0 {
		t.Fatalf("empty allocation: %+v %v", a, err)
	}
	addr := netip.MustParseAddr
	a.Addresses["app/0"], a.Addresses["app/1"] = addr("10.0.1.10"), addr("10.0.1.11")
	old := Host{Name: "app-1", Tier: "app", Address: addr("10.0.1.10")}
	next := Host{Name: "app-3", Tier: "app", Address: addr("10.0.1.12")}
	a.replaced(Replacement{Old: old, New: next, Reason: "sshd exited"})
	if a.Addresses["app/0"] != addr("10.0.1.12") || a.Names["app-1"] != "app-3" || len(a.Replacements) != 1 {
		t.Fatalf("after a replacement: %+v", a)
	}
	// The replacement fails in turn: the engine's name still maps to the newest host.
	a.replaced(Replacement{Old: next, New: Host{Name: "app-4", Tier: "app", Address: addr("10.0.1.13")}, Reason: "anchor exited"})
	if a.Names["app-1"] != "app-4" || a.Addresses["app/0"] != addr("10.0.1.13") || len(a.Names) != 1 {
		t.Fatalf("after a second replacement: %+v", a)
	}
	a.Published = map[string]int{"https": 40443, "ssh": 40022}
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := LoadAllocation(dir, "ignored")
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("reloaded %+v (%v), want %+v", b, err, a)
	}
	if fi, err := os.Stat(filepath.Join(dir, AllocationFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("allocation file: %v %v", fi, err)
	}
	stacks, err := AllocatedStacks(filepath.Dir(dir))
	if err != nil || !reflect.DeepEqual(stacks, []string{"staging"}) {
		t.Errorf("allocated stacks: %v %v", stacks, err)
	}

	// A derivation: app-1, app-2 and a scale-out's app-4, whose name the replacement already has.
	s := State{Hosts: []Host{{Name: "app-1", Tier: "app"}, {Name: "app-2", Tier: "app"}, {Name: "app-4", Tier: "app"}},
		LB: &LoadBalancer{Target: TargetGroup{Targets: []string{"app-1", "app-2", "app-4"}}}}
	b.rename(&s)
	names := []string{s.Hosts[0].Name, s.Hosts[1].Name, s.Hosts[2].Name}
	if !reflect.DeepEqual(names, []string{"app-4", "app-2", "app-5"}) || !reflect.DeepEqual(s.LB.Target.Targets, names) {
		t.Fatalf("renamed hosts %v, targets %v", names, s.LB.Target.Targets)
	}
	// Scale in: app-1 (running as app-4) is gone from the derivation, so is its name.
	s = State{Hosts: []Host{{Name: "app-2", Tier: "app"}}}
	b.rename(&s)
	if s.Hosts[0].Name != "app-2" || len(b.Names) != 0 {
		t.Errorf("after scale in: %v, names %v", s.Hosts, b.Names)
	}
}

func TestAllocationRejectsABrokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AllocationFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAllocation(dir, "staging"); err == nil {
		t.Fatal("a broken allocation file loaded")
	}
}
