// Package pack adapts the plinth rules to Pulumi's Go policy SDK (policyx, experimental): each rule becomes a
// stack validation policy, so `pulumi preview --policy-pack policy` enforces exactly what
// `plinth policy check` does offline. The rules know nothing of policyx.
package pack

import (
	"context"
	"sort"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/plinth-dev/plinth/policy/rules"
)

// Name and Version of the pack.
const (
	Name    = "plinth"
	Version = "1.0.0"
)

// New builds the policy pack (the function policyx.Main serves).
func New(ctx *pulumi.Context) (policyx.PolicyPack, error) {
	stack := ""
	if ctx != nil {
		stack = ctx.Stack()
	}
	var policies []policyx.Policy
	for _, rule := range rules.All() {
		policies = append(policies, Policy(rule, stack))
	}
	return policyx.NewPolicyPack(Name, semver.MustParse(Version), policyx.EnforcementLevelMandatory, policies)
}

// Policy wraps one rule as a stack validation policy.
func Policy(rule rules.Rule, stack string) policyx.StackValidationPolicy {
	level := policyx.EnforcementLevelMandatory
	if rule.Level == rules.Advisory {
		level = policyx.EnforcementLevelAdvisory
	}
	return policyx.NewStackValidationPolicy(rule.ID, policyx.StackValidationPolicyArgs{
		Description:      rule.Description,
		EnforcementLevel: level,
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			s := Stack(stack, args.Resources)
			for _, f := range rule.Check(s) {
				urn := ""
				if f.Resource != nil {
					urn = f.Resource.URN
				}
				args.Manager.ReportViolation(f.Message+". Fix: "+rule.Fix, urn)
			}
			return nil
		},
	})
}

// Stack converts the engine's view of a stack into the rules' view. Providers are added as resources so the
// rules can read their regions and default tags.
func Stack(name string, resources []policyx.AnalyzerResource) *rules.Stack {
	var out []*rules.Resource
	providers := map[string]bool{}
	for _, r := range resources {
		providers[r.URN] = true
	}
	for _, r := range resources {
		if p := r.Provider; p.URN != "" && !providers[p.URN] {
			providers[p.URN] = true
			out = append(out, &rules.Resource{URN: p.URN, Type: p.Type, Name: p.Name, Props: plainMap(p.Properties)})
		}
		out = append(out, &rules.Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Provider: r.Provider.URN,
			Props: plainMap(r.Properties), Deps: r.PropertyDependencies,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return rules.NewStack(name, out)
}

func plainMap(m property.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All {
		out[k] = plain(v)
	}
	return out
}

// plain turns a property value into the rules' plain values; secrets stay marked, unknowns become nil.
func plain(v property.Value) any {
	var x any
	switch {
	case v.IsComputed(), v.IsNull():
		x = nil
	case v.IsBool():
		x = v.AsBool()
	case v.IsNumber():
		x = v.AsNumber()
	case v.IsString():
		x = v.AsString()
	case v.IsArray():
		arr := v.AsArray()
		list := make([]any, 0, arr.Len())
		for _, e := range arr.All {
			list = append(list, plain(e))
		}
		x = list
	case v.IsMap():
		x = plainMap(v.AsMap())
	case v.IsResourceReference():
		x = string(v.AsResourceReference().URN)
	}
	if v.Secret() {
		return rules.Secret{Value: x}
	}
	return x
}
