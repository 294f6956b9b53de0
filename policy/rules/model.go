// Package rules holds the platform's security and redundancy promises as pure functions over a stack's
// resources (type, properties, references). Two runners use them: the Pulumi policy pack (policy/, through
// policyx) and `plinth policy check` / `plinth preview --offline` over the mock engine's resource set.
package rules

import (
	"sort"
	"strconv"
	"strings"
)

// Level is a rule's enforcement level.
type Level string

// Levels.
const (
	Mandatory Level = "mandatory"
	Advisory  Level = "advisory"
)

// Secret marks a property value the program handled as a secret.
type Secret struct{ Value any }

// Resource is one resource as the rules see it.
type Resource struct {
	URN    string
	Type   string
	Name   string
	Parent string
	// Provider is the URN of the resource's provider instance ("" for the default provider), without the
	// "::id" suffix the engine appends.
	Provider string
	// Props are plain values (map[string]any, []any, string, float64, bool, nil; Secret for secrets).
	Props map[string]any
	// Deps maps a property to the URNs its value came from.
	Deps map[string][]string
}

// Get walks a dotted path ("metadataOptions.httpTokens", "rules.0.x"); secrets are unwrapped.
func (r *Resource) Get(path string) any {
	var v any = r.Props
	for _, part := range strings.Split(path, ".") {
		v = unwrap(v)
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return unwrap(v)
}

// IsSecret reports whether the property at path is a secret (or absent: nothing plain to leak).
func (r *Resource) IsSecret(key string) bool {
	v, ok := r.Props[key]
	if !ok || v == nil {
		return true
	}
	_, secret := v.(Secret)
	return secret
}

func unwrap(v any) any {
	if s, ok := v.(Secret); ok {
		return s.Value
	}
	return v
}

func (r *Resource) str(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

func (r *Resource) num(path string) (float64, bool) {
	switch x := r.Get(path).(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func (r *Resource) truthy(path string) bool {
	switch x := r.Get(path).(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

func (r *Resource) list(path string) []any {
	l, _ := r.Get(path).([]any)
	return l
}

// Ref returns the URN the property's value came from ("" when it is a literal).
func (r *Resource) Ref(prop string) string {
	if urns := r.Deps[prop]; len(urns) > 0 {
		return urns[0]
	}
	return ""
}

// Tier is the plinth tier a resource belongs to (its plinth:tier tag; ASGs carry tags as a list).
func (r *Resource) Tier() string {
	if t := r.str("tags.plinth:tier"); t != "" {
		return t
	}
	for _, tag := range r.list("tags") {
		if m, ok := tag.(map[string]any); ok && m["key"] == "plinth:tier" {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

// Stack is the whole resource set of one stack.
type Stack struct {
	Name      string
	Resources []*Resource

	byURN map[string]*Resource
}

// NewStack indexes resources.
func NewStack(name string, rs []*Resource) *Stack {
	s := &Stack{Name: name, Resources: rs, byURN: map[string]*Resource{}}
	for _, r := range rs {
		s.byURN[r.URN] = r
	}
	return s
}

// Lookup returns the resource with urn.
func (s *Stack) Lookup(urn string) *Resource { return s.byURN[urn] }

// ByType returns the resources of typ.
func (s *Stack) ByType(typ string) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Environment is the stack's environment: the environment default tag of its AWS provider, else its name.
func (s *Stack) Environment() string {
	for _, p := range s.ByType("pulumi:providers:aws") {
		if env := p.str("defaultTags.tags.environment"); env != "" {
			return env
		}
	}
	return s.Name
}

// Drill is the drill id of a DR drill stack (its providers' default tag plinth:drill), "" for any other.
func (s *Stack) Drill() string {
	for _, p := range s.ByType("pulumi:providers:aws") {
		if id := p.str("defaultTags.tags.plinth:drill"); id != "" {
			return id
		}
	}
	return ""
}

// Region is the AWS region a resource is created in (its provider's region).
func (s *Stack) Region(r *Resource) string {
	if p := s.byURN[r.Provider]; p != nil {
		return p.str("region")
	}
	return ""
}

// PrimaryRegion is the region of the load balancer: where the platform serves.
func (s *Stack) PrimaryRegion() string {
	for _, lb := range s.ByType("aws:lb/loadBalancer:LoadBalancer") {
		return s.Region(lb)
	}
	return ""
}

// Violation is one broken promise.
type Violation struct {
	Rule     string `json:"rule"`
	Level    Level  `json:"level"`
	URN      string `json:"urn"`
	Resource string `json:"resource"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// Finding is what a rule reports: a resource (may be nil for stack-wide findings) and what is wrong.
type Finding struct {
	Resource *Resource
	Message  string
}

// Rule is one promise.
type Rule struct {
	ID          string
	Description string
	Level       Level
	Fix         string
	// Check returns every finding in the stack.
	Check func(s *Stack) []Finding
}

// Check runs rules over s; violations are sorted by rule then resource.
func Check(s *Stack, rules []Rule) []Violation {
	var out []Violation
	for _, rule := range rules {
		for _, f := range rule.Check(s) {
			v := Violation{Rule: rule.ID, Level: rule.Level, Message: f.Message, Fix: rule.Fix, Resource: "stack " + s.Name}
			if f.Resource != nil {
				v.URN, v.Resource = f.Resource.URN, f.Resource.Name
			}
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// AnyMandatory reports whether any violation is mandatory.
func AnyMandatory(vs []Violation) bool {
	for _, v := range vs {
		if v.Level == Mandatory {
			return true
		}
	}
	return false
}
