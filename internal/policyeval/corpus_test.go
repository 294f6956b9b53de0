package policyeval

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/corpustest"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/policy/rules"
	"github.com/plinth-dev/plinth/stacks"
)

// A corpus case takes a shipped stack, changes its spec (validation bypassed: the policy is the second line
// of defence) and/or the resources the program produced, and names every rule that must fire — no more.
type corpusCase struct {
	Stack string         `yaml:"stack"`
	Spec  map[string]any `yaml:"spec"`
	Set   []struct {
		Type   string `yaml:"type"`
		Name   string `yaml:"name"`
		Path   string `yaml:"path"`
		Value  any    `yaml:"value"`
		Delete bool   `yaml:"delete"`
	} `yaml:"set"`
	Remove []struct {
		Type string `yaml:"type"`
		Name string `yaml:"name"`
	} `yaml:"remove"`
	Add []struct {
		Type   string            `yaml:"type"`
		Name   string            `yaml:"name"`
		Inputs map[string]any    `yaml:"inputs"`
		Deps   map[string]string `yaml:"deps"` // property -> name of the resource it references
		From   map[string]string `yaml:"from"` // property -> "<resource name>.<output>"
	} `yaml:"add"`
}

func TestInsecureCorpus(t *testing.T) {
	caught := map[string]int{}
	for _, cc := range corpustest.Load(t, "../../testdata/policy/insecure/*.yaml", 20) {
		t.Run(cc.Name, func(t *testing.T) {
			data, want := cc.Data, cc.Want
			var c corpusCase
			if err := yaml.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			res := build(t, c)
			var got []string
			for _, v := range Check(res) {
				if !slices.Contains(got, v.Rule) {
					got = append(got, v.Rule)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("rules fired %v, want %v", got, want)
				for _, v := range Check(res) {
					t.Logf("  %s %s: %s", v.Rule, v.Resource, v.Message)
				}
			}
			for _, r := range got {
				caught[r]++
			}
		})
	}
	for _, r := range rules.All() {
		if caught[r.ID] == 0 {
			t.Errorf("rule %s has no corpus case that fails it", r.ID)
		}
	}
}

func build(t *testing.T, c corpusCase) *offline.Result {
	t.Helper()
	data, err := environments.EmbeddedStackFile(c.Stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := environments.ParseStackFile(data)
	var raw map[string]any
	if err := json.Unmarshal([]byte(cfg.Values[environments.ConfigKey]), &raw); err != nil {
		t.Fatal(err)
	}
	merge(raw, c.Spec)
	b, _ := json.Marshal(raw)
	spec, _ := environments.Load(c.Stack, map[string]string{environments.ConfigKey: string(b)}) // validation bypassed on purpose
	res, err := offline.Evaluate(environments.Project, c.Stack, nil, nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return stacks.RunSpec(ctx, spec)
	})
	if err != nil {
		t.Fatal(err)
	}
	find := func(typ, name string) *offline.Resource {
		for _, r := range res.Resources {
			if r.Name == name && (typ == "" || r.Type == typ) {
				return r
			}
		}
		t.Fatalf("no resource %s %s", typ, name)
		return nil
	}
	for _, s := range c.Set {
		setPath(t, find(s.Type, s.Name).Inputs, s.Path, s.Value, s.Delete)
	}
	for _, rm := range c.Remove {
		victim := find(rm.Type, rm.Name)
		res.Resources = slices.DeleteFunc(res.Resources, func(r *offline.Resource) bool { return r == victim })
	}
	for _, a := range c.Add {
		r := &offline.Resource{URN: "urn:pulumi:" + c.Stack + "::plinth::" + a.Type + "::" + a.Name, Type: a.Type, Name: a.Name,
			Custom: true, Inputs: map[string]any{}, Deps: map[string][]string{}}
		for k, v := range a.Inputs {
			r.Inputs[k] = jsonish(v)
		}
		for prop, target := range a.Deps {
			ref := find("", target)
			r.Deps[prop] = []string{ref.URN}
			r.Inputs[prop] = ref.ID
		}
		for prop, src := range a.From {
			resName, out, _ := strings.Cut(src, ".")
			r.Inputs[prop] = find("", resName).Outputs[out]
		}
		res.Resources = append(res.Resources, r)
	}
	return res
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// jsonish makes YAML numbers look like the engine's (float64).
func jsonish(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func setPath(t *testing.T, m map[string]any, path string, value any, del bool) {
	t.Helper()
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch x := cur.(type) {
		case map[string]any:
			if x[p] == nil {
				x[p] = map[string]any{}
			}
			cur = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				t.Fatalf("path %s: bad index %s", path, p)
			}
			cur = x[i]
		default:
			t.Fatalf("path %s: cannot descend into %T", path, cur)
		}
	}
	last := parts[len(parts)-1]
	switch x := cur.(type) {
	case map[string]any:
		if del {
			delete(x, last)
		} else {
			x[last] = jsonish(value)
		}
	case []any:
		i, _ := strconv.Atoi(last)
		x[i] = jsonish(value)
	default:
		t.Fatalf("path %s: cannot set in %T", path, cur)
	}
}
