package pack

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/policy/rules"
	"github.com/plinth-dev/plinth/stacks"
)

type manager struct{ violations []string }

func (m *manager) ReportViolation(message, urn string) {
	m.violations = append(m.violations, urn+": "+message)
}

// toValue turns the mock engine's plain inputs back into engine property values.
func toValue(v any) property.Value {
	switch x := v.(type) {
	case offline.Secret:
		return toValue(x.Value).WithSecret(true)
	case map[string]any:
		m := map[string]property.Value{}
		for k, e := range x {
			m[k] = toValue(e)
		}
		return property.New(property.NewMap(m))
	case []any:
		var arr []property.Value
		for _, e := range x {
			arr = append(arr, toValue(e))
		}
		return property.New(property.NewArray(arr))
	case string:
		return property.New(x)
	case float64:
		return property.New(x)
	case bool:
		return property.New(x)
	}
	return property.Value{}
}

// analyzerResources presents an offline evaluation the way the engine presents a stack to a policy pack.
func analyzerResources(t *testing.T, stack string) []policyx.AnalyzerResource {
	t.Helper()
	data, _ := environments.EmbeddedStackFile(stack)
	cfg, _ := environments.ParseStackFile(data)
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	providers := map[string]*offline.Resource{}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			providers[r.URN] = r
		}
	}
	var out []policyx.AnalyzerResource
	for _, r := range res.Resources {
		if !r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		ar := policyx.AnalyzerResource{Type: r.Type, URN: r.URN, Name: r.Name, Parent: r.Parent,
			Properties: toValue(r.Inputs).AsMap(), PropertyDependencies: r.Deps}
		if i := strings.LastIndex(r.Provider, "::"); i > 0 {
			if p := providers[r.Provider[:i]]; p != nil {
				ar.Provider = policyx.AnalyzerProviderResource{Type: p.Type, URN: p.URN, Name: p.Name, Properties: toValue(p.Inputs).AsMap()}
			}
		}
		out = append(out, ar)
	}
	return out
}

func validate(t *testing.T, resources []policyx.AnalyzerResource) map[string][]string {
	t.Helper()
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != Name || len(p.Policies()) != len(rules.All()) {
		t.Fatalf("pack %s with %d policies", p.Name(), len(p.Policies()))
	}
	out := map[string][]string{}
	for _, pol := range p.Policies() {
		sv := pol.(policyx.StackValidationPolicy)
		m := &manager{}
		if err := sv.Validate(context.Background(), policyx.StackValidationArgs{Manager: m, Resources: resources}); err != nil {
			t.Fatal(err)
		}
		if len(m.violations) > 0 {
			out[sv.Name()] = m.violations
		}
	}
	return out
}

func TestProductionPassesThePack(t *testing.T) {
	if got := validate(t, analyzerResources(t, "production")); len(got) != 0 {
		t.Errorf("violations through the policy pack: %v", got)
	}
}

func TestPackReportsViolations(t *testing.T) {
	resources := analyzerResources(t, "production")
	for i, r := range resources {
		switch {
		case r.Name == "production-db-replica-1":
			resources[i].Properties = r.Properties.Set("storageEncrypted", property.New(false))
		case r.Name == "production-utility-cache":
			resources[i].Properties = r.Properties.Set("authToken", property.New("plain-token-0123456789"))
		}
	}
	got := validate(t, resources)
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"rds-encrypted", "secrets-not-plain"}) {
		t.Fatalf("violated policies = %v", got)
	}
	if v := got["rds-encrypted"][0]; !strings.Contains(v, "production-db-replica-1") || !strings.Contains(v, "Fix:") {
		t.Errorf("violation names the resource and the fix: %s", v)
	}
}

func TestEnforcementLevels(t *testing.T) {
	p, _ := New(nil)
	for _, pol := range p.Policies() {
		want := policyx.EnforcementLevelMandatory
		if pol.Name() == "logs-encrypted" {
			want = policyx.EnforcementLevelAdvisory
		}
		if pol.EnforcementLevel() != want {
			t.Errorf("%s: level %v", pol.Name(), pol.EnforcementLevel())
		}
	}
}
