package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// DriftedResource is a resource whose cloud state differs from the stack's state.
type DriftedResource struct {
	URN   string   `json:"urn"`
	Type  string   `json:"type"`
	Name  string   `json:"name"`
	Op    string   `json:"op"`
	Diffs []string `json:"diffs,omitempty"`
}

// DriftReport is the result of Drift.
type DriftReport struct {
	Stack    string            `json:"stack"`
	Drifted  []DriftedResource `json:"drifted"`
	Checked  int               `json:"checked"`
	Seconds  float64           `json:"seconds"`
	HasDrift bool              `json:"hasDrift"`
}

// Drift runs a read-only refresh preview and lists the resources whose cloud state has drifted.
func (e *Engine) Drift(ctx context.Context) (DriftReport, error) {
	start := time.Now()
	rep := DriftReport{Stack: e.opts.Stack, Drifted: []DriftedResource{}}
	seen := map[string]bool{}
	ch, wait := e.stream(true, func(ev events.EngineEvent) {
		var m *apitype.StepEventMetadata
		switch {
		case ev.ResourcePreEvent != nil:
			m = &ev.ResourcePreEvent.Metadata
		case ev.ResOutputsEvent != nil:
			m = &ev.ResOutputsEvent.Metadata
		}
		if m == nil || strings.HasPrefix(m.Type, "pulumi:") {
			return
		}
		if !seen[m.URN] {
			seen[m.URN] = true
			rep.Checked++
		}
		if ev.ResOutputsEvent == nil {
			return
		}
		if d, ok := drifted(m.Op, m.Diffs, len(m.DetailedDiff) > 0); ok {
			rep.Drifted = append(rep.Drifted, DriftedResource{URN: m.URN, Type: m.Type, Name: urnName(m.URN),
				Op: d, Diffs: m.Diffs})
		}
	})
	_, err := e.stack.PreviewRefresh(ctx, optrefresh.EventStreams(ch))
	wait()
	if err != nil {
		return rep, classify(fmt.Sprintf("stack %s: drift", e.opts.Stack), err)
	}
	sort.Slice(rep.Drifted, func(i, j int) bool { return rep.Drifted[i].URN < rep.Drifted[j].URN })
	rep.HasDrift = len(rep.Drifted) > 0
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// drifted says whether a refresh step shows drift, and how.
func drifted[O ~string](op O, diffs []string, detailed bool) (string, bool) {
	switch string(op) {
	case "same", "read", "":
		return "", false
	case "refresh":
		if len(diffs) > 0 || detailed {
			return "update", true
		}
		return "", false
	case "delete", "read-discard", "discard":
		return "delete", true
	}
	return string(op), true
}
