// Package componenttest runs components under Pulumi's mock engine and inspects what they registered.
package componenttest

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/offline"
)

// Run evaluates fn under the mock engine as stack "test" and fails t on error.
func Run(t testing.TB, fn func(ctx *pulumi.Context) error) *offline.Result {
	t.Helper()
	res, err := offline.Evaluate("plinth", "test", nil, nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return nil, fn(ctx)
	})
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return res
}

// RunErr evaluates fn and returns its error (for argument checks).
func RunErr(fn func(ctx *pulumi.Context) error) error {
	_, err := offline.Evaluate("plinth", "test", nil, nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return nil, fn(ctx)
	})
	return err
}

// One returns the only resource of typ, failing t when there is not exactly one.
func One(t testing.TB, res *offline.Result, typ string) *offline.Resource {
	t.Helper()
	rs := res.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: want exactly 1, got %d", typ, len(rs))
	}
	return rs[0]
}

// Get walks a dotted path ("metadataOptions.httpTokens", "blockDeviceMappings.0.ebs.encrypted") through
// plain values. Secrets are unwrapped.
func Get(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		if s, ok := v.(offline.Secret); ok {
			v = s.Value
		}
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i := 0
			for _, c := range part {
				if c < '0' || c > '9' {
					return nil
				}
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	if s, ok := v.(offline.Secret); ok {
		return s.Value
	}
	return v
}

// AssertFamily checks the house rules of a component: exactly one component of componentType, and every
// other resource a descendant of it whose name starts with the component's name.
func AssertFamily(t testing.TB, res *offline.Result, componentType string) {
	t.Helper()
	comps := res.ByType(componentType)
	if len(comps) != 1 {
		t.Fatalf("%s: want one component, got %d", componentType, len(comps))
	}
	root := comps[0]
	byURN := res.ByURN()
	for _, r := range res.Resources {
		if r == root || strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		under := false
		for p, ok := byURN[r.Parent]; ok; p, ok = byURN[p.Parent] {
			if p == root {
				under = true
				break
			}
		}
		if !under {
			t.Errorf("%s %s is not parented to the %s component", r.Type, r.Name, componentType)
		}
		if !strings.HasPrefix(r.Name, root.Name) {
			t.Errorf("%s %s: name does not start with the component's name %q", r.Type, r.Name, root.Name)
		}
	}
	if res.OutputRegistrations < 1 {
		t.Errorf("%s: RegisterResourceOutputs never called", componentType)
	}
}

// Tags is a plain tag map.
func Tags() pulumi.StringMap {
	return pulumi.StringMap{"environment": pulumi.String("test"), "owner": pulumi.String("platform")}
}
