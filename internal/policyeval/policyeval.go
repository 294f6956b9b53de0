// Package policyeval runs the policy rules over an offline (mock engine) evaluation.
package policyeval

import (
	"strings"

	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/policy/rules"
)

// Stack converts an offline result into the rules' view.
func Stack(res *offline.Result) *rules.Stack {
	rs := make([]*rules.Resource, 0, len(res.Resources))
	for _, r := range res.Resources {
		provider := r.Provider // "<provider urn>::<provider id>"; URNs contain "::" themselves
		if i := strings.LastIndex(provider, "::"); i > 0 {
			provider = provider[:i]
		}
		rs = append(rs, &rules.Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Provider: provider,
			Props: convert(r.Inputs).(map[string]any), Deps: r.Deps,
		})
	}
	return rules.NewStack(res.Stack, rs)
}

// Check runs every rule over the offline result.
func Check(res *offline.Result) []rules.Violation {
	return rules.Check(Stack(res), rules.All())
}

func convert(v any) any {
	switch x := v.(type) {
	case offline.Secret:
		return rules.Secret{Value: convert(x.Value)}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = convert(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = convert(e)
		}
		return out
	}
	return v
}
