package views

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/policy/rules"
)

// PreviewResource is one resource of an offline preview, as JSON.
type PreviewResource struct {
	URN    string `json:"urn"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Custom bool   `json:"custom"`
}

// Preview is the data of `plinth preview --offline`, rendered for humans or as JSON.
type Preview struct {
	Stack     string            `json:"stack"`
	Source    string            `json:"source"`
	Engine    string            `json:"engine"`
	Resources []PreviewResource `json:"resources"`
	Counts    map[string]int    `json:"counts"`
	Total     int               `json:"total"`
	// Components counts the resources under each top-level component, by name.
	Components map[string]int `json:"components"`
	// descendants counts resources under every component, by URN (nested components share names).
	descendants map[string]int
	Outputs     map[string]any    `json:"outputs"`
	Violations  []rules.Violation `json:"violations"`
}

// NewPreview builds the view data from an offline evaluation.
func NewPreview(res *offline.Result, source string) *Preview {
	p := &Preview{
		Stack: res.Stack, Source: source, Engine: "pulumi mock engine (offline: no cloud calls, no credentials)",
		Counts: res.CountByType(), Total: len(res.Resources), Components: map[string]int{}, Outputs: res.Outputs,
		Violations: []rules.Violation{}, descendants: map[string]int{},
	}
	byURN := res.ByURN()
	for _, r := range res.Resources {
		p.Resources = append(p.Resources, PreviewResource{URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Custom: r.Custom})
		// Count every resource under each component that contains it.
		for anc, ok := byURN[r.Parent]; ok; anc, ok = byURN[anc.Parent] {
			p.descendants[anc.URN]++
			if anc.Parent == res.StackURN && !anc.Custom {
				p.Components[anc.Name]++
			}
		}
	}
	// Registration order depends on when outputs resolve: sort for stable output.
	sort.Slice(p.Resources, func(i, j int) bool {
		a, b := p.Resources[i], p.Resources[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Name < b.Name
	})
	return p
}

// OfflinePreview renders an offline preview in format (--output): JSON, or the tree grouped by component, the
// counts by type and the outputs.
func OfflinePreview(w io.Writer, format string, p *Preview, stackURN string) error {
	return Render(w, format, p, func(w io.Writer) error { return previewHuman(w, p, stackURN) })
}

func previewHuman(w io.Writer, p *Preview, stackURN string) error {
	ew := &errWriter{w: w}
	ew.printf("Offline preview of stack %s\n  config: %s\n  engine: %s\n\n", p.Stack, p.Source, p.Engine)
	children := map[string][]PreviewResource{}
	for _, r := range p.Resources {
		children[r.Parent] = append(children[r.Parent], r)
	}
	ew.printf("pulumi:pulumi:Stack  plinth-%s\n", p.Stack)
	var walk func(parent, indent string)
	walk = func(parent, indent string) {
		kids := children[parent]
		for i, r := range kids {
			branch, next := "├─ ", "│  "
			if i == len(kids)-1 {
				branch, next = "└─ ", "   "
			}
			suffix := ""
			if n := p.descendants[r.URN]; n > 0 {
				suffix = fmt.Sprintf("  (%d resources)", n)
			}
			ew.printf("%s%s%s  %s%s\n", indent, branch, r.Type, r.Name, suffix)
			walk(r.URN, indent+next)
		}
	}
	walk(stackURN, "")

	ew.printf("\nResources by type:\n")
	types := make([]string, 0, len(p.Counts))
	for t := range p.Counts {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if p.Counts[types[i]] != p.Counts[types[j]] {
			return p.Counts[types[i]] > p.Counts[types[j]]
		}
		return types[i] < types[j]
	})
	for _, t := range types {
		ew.printf("  %4d  %s\n", p.Counts[t], t)
	}
	ew.printf("  %4d  total\n", p.Total)

	if len(p.Outputs) > 0 {
		ew.printf("\nOutputs:\n")
		for _, line := range flatten("", p.Outputs) {
			ew.printf("  %s\n", line)
		}
	}
	ew.printf("\n")
	if ew.err == nil {
		ew.err = Violations(w, p.Violations)
	}
	return ew.err
}

// flatten renders nested outputs as sorted "a.b.c  value" lines.
func flatten(prefix string, v any) []string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			out = append(out, flatten(key, x[k])...)
		}
		return out
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return []string{fmt.Sprintf("%-40s [%s]", prefix, strings.Join(parts, ", "))}
	}
	return []string{fmt.Sprintf("%-40s %v", prefix, v)}
}

// errWriter keeps the first write error so renderers can print freely and report once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
