package rules

import (
	"slices"
	"testing"
)

func sg(urn, tier string, ingress ...any) *Resource {
	return &Resource{URN: urn, Type: sgType, Name: urn, Props: map[string]any{"tags": map[string]any{"plinth:tier": tier}, "ingress": ingress}}
}

func fired(s *Stack) []string {
	var out []string
	for _, v := range Check(s, networkRules()) {
		if !slices.Contains(out, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	slices.Sort(out)
	return out
}

// The exposure rules understand every way AWS security group rules can be written.
func TestIngressShapes(t *testing.T) {
	tests := []struct {
		name string
		rs   []*Resource
		want []string
	}{
		{"inline world ssh on app", []*Resource{
			sg("lb", "lb"), sg("db", "db"),
			sg("app", "app", map[string]any{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": []any{"0.0.0.0/0"}}),
		}, []string{"internet-ingress-lb-only", "ssh-from-bastion-only"}},
		{"inline https on lb", []*Resource{
			sg("lb", "lb", map[string]any{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "ipv6CidrBlocks": []any{"::/0"}}),
		}, nil},
		{"legacy rule all protocols world to cache", []*Resource{
			sg("cache", "cache"),
			{URN: "r1", Type: legacyRuleTyp, Props: map[string]any{"type": "ingress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": []any{"0.0.0.0/0"}},
				Deps: map[string][]string{"securityGroupId": {"cache"}}},
		}, []string{"internet-ingress-lb-only", "no-internet-path-to-data", "ssh-from-bastion-only"}},
		{"legacy egress ignored", []*Resource{
			sg("db", "db"),
			{URN: "r1", Type: legacyRuleTyp, Props: map[string]any{"type": "egress", "protocol": "-1", "cidrBlocks": []any{"0.0.0.0/0"}},
				Deps: map[string][]string{"securityGroupId": {"db"}}},
		}, nil},
		{"data behind app only", []*Resource{
			sg("lb", "lb"), sg("app", "app"), sg("db", "db"),
			{URN: "i1", Type: ingressType, Props: map[string]any{"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0"}, Deps: map[string][]string{"securityGroupId": {"lb"}}},
			{URN: "i2", Type: ingressType, Props: map[string]any{"ipProtocol": "tcp", "fromPort": 8080.0, "toPort": 8080.0}, Deps: map[string][]string{"securityGroupId": {"app"}, "referencedSecurityGroupId": {"lb"}}},
			{URN: "i3", Type: ingressType, Props: map[string]any{"ipProtocol": "tcp", "fromPort": 3306.0, "toPort": 3306.0}, Deps: map[string][]string{"securityGroupId": {"db"}, "referencedSecurityGroupId": {"app"}}},
		}, nil},
		{"search one hop from lb", []*Resource{
			sg("lb", "lb"), sg("search", "search"),
			{URN: "i1", Type: ingressType, Props: map[string]any{"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0"}, Deps: map[string][]string{"securityGroupId": {"lb"}}},
			{URN: "i2", Type: ingressType, Props: map[string]any{"ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0}, Deps: map[string][]string{"securityGroupId": {"search"}, "referencedSecurityGroupId": {"lb"}}},
		}, []string{"no-internet-path-to-data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fired(NewStack("test", tt.rs)); !slices.Equal(got, tt.want) {
				t.Errorf("fired %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResourceHelpers(t *testing.T) {
	r := &Resource{Props: map[string]any{
		"a":     map[string]any{"b": []any{map[string]any{"c": "x"}}},
		"token": Secret{Value: "s3cret"},
		"n":     "42",
		"tags":  []any{map[string]any{"key": "plinth:tier", "value": "bastion"}},
	}}
	if r.Get("a.b.0.c") != "x" || r.Get("a.b.1.c") != nil || r.Get("a.x.y") != nil || r.Get("token") != "s3cret" {
		t.Errorf("Get: %v %v %v", r.Get("a.b.0.c"), r.Get("a.b.1.c"), r.Get("token"))
	}
	if !r.IsSecret("token") || r.IsSecret("n") || !r.IsSecret("absent") {
		t.Error("IsSecret")
	}
	if n, ok := r.num("n"); !ok || n != 42 {
		t.Errorf("num = %v %v", n, ok)
	}
	if r.Tier() != "bastion" {
		t.Errorf("Tier from an ASG tag list = %q", r.Tier())
	}
}

func TestEnvironmentAndRegions(t *testing.T) {
	s := NewStack("prod-eu", []*Resource{
		{URN: "p1", Type: "pulumi:providers:aws", Props: map[string]any{"region": "eu-west-1", "defaultTags": map[string]any{"tags": map[string]any{"environment": "production"}}}},
		{URN: "p2", Type: "pulumi:providers:aws", Props: map[string]any{"region": "eu-central-1"}},
		{URN: "lb", Type: "aws:lb/loadBalancer:LoadBalancer", Provider: "p1", Props: map[string]any{}},
		{URN: "db", Type: rdsInstance, Provider: "p2", Props: map[string]any{"replicateSourceDb": "arn:x"}},
	})
	if s.Environment() != "production" || s.PrimaryRegion() != "eu-west-1" || s.Region(s.Lookup("db")) != "eu-central-1" {
		t.Errorf("env %q primary %q db region %q", s.Environment(), s.PrimaryRegion(), s.Region(s.Lookup("db")))
	}
	if NewStack("staging", nil).Environment() != "staging" {
		t.Error("environment falls back to the stack name")
	}
}

func TestRuleCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if r.ID == "" || r.Description == "" || r.Fix == "" || r.Check == nil || (r.Level != Mandatory && r.Level != Advisory) {
			t.Errorf("rule %+v is incomplete", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
	}
	if len(seen) < 25 {
		t.Errorf("%d rules", len(seen))
	}
}
