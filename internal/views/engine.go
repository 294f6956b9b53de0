package views

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/plinth-dev/plinth/internal/provision"
)

// opSymbol is the one-column marker of an engine step, as Pulumi prints it ("" for others).
func opSymbol(op string) string {
	switch op {
	case "create":
		return "+"
	case "update", "refresh":
		return "~"
	case "delete", "discard", "read-discard":
		return "-"
	case "replace":
		return "+-"
	case "create-replacement":
		return "++"
	case "delete-replaced":
		return "--"
	case "read":
		return ">"
	case "import":
		return "="
	}
	return ""
}

// EngineProgress renders engine events as they arrive: one line per step in human form, or one JSON object a
// line with --output json. Safe for concurrent use.
type EngineProgress struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// NewEngineProgress writes to w in format (--output: FormatJSON selects JSON lines).
func NewEngineProgress(w io.Writer, format string) *EngineProgress {
	return &EngineProgress{w: w, json: format == FormatJSON}
}

// Event renders one event.
func (p *EngineProgress) Event(e provision.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		_ = JSONLine(p.w, e)
		return
	}
	if line := EngineLine(e); line != "" {
		fmt.Fprintln(p.w, line)
	}
}

// EngineLine is the human line of an event, or "" for events not shown (unchanged resources, the stack
// itself, step completions).
func EngineLine(e provision.Event) string {
	switch e.Kind {
	case provision.EventStart:
		if e.Op == "same" || e.Op == "refresh" || e.Op == "" || strings.HasPrefix(e.Type, "pulumi:pulumi:Stack") {
			return ""
		}
		sym := opSymbol(e.Op)
		if sym == "" {
			sym = "*"
		}
		line := fmt.Sprintf("%-2s %-8s %s  %s", sym, e.Op, e.Name, e.Type)
		if len(e.Diffs) > 0 {
			line += "  [" + strings.Join(e.Diffs, ", ") + "]"
		}
		return line
	case provision.EventRefreshed:
		what := "changed in the cloud"
		if e.Op == "delete" {
			what = "deleted in the cloud"
		}
		line := fmt.Sprintf("%-2s %-8s %s  %s  %s", opSymbol(e.Op), e.Op, e.Name, e.Type, what)
		if len(e.Diffs) > 0 {
			line += "  [" + strings.Join(e.Diffs, ", ") + "]"
		}
		return line
	case provision.EventFailed:
		return fmt.Sprintf("✗  %-8s %s  %s  failed", e.Op, e.Name, e.Type)
	case provision.EventDiag:
		sev := e.Severity
		if sev == "info#err" {
			sev = "info"
		}
		if e.Name != "" {
			return fmt.Sprintf("%s: %s: %s", sev, e.Name, e.Message)
		}
		return fmt.Sprintf("%s: %s", sev, e.Message)
	case provision.EventPolicy:
		return fmt.Sprintf("policy [%s] %s: %s (%s)", e.Severity, e.Policy, e.Message, e.Name)
	case provision.EventAudit:
		return "audit: " + e.Message
	case provision.EventSummary:
		return "Resources: " + Changes(e.Changes)
	}
	return ""
}

// Changes renders a change summary: "3 to create, 1 to update, 12 unchanged".
func Changes(m map[string]int) string {
	ops := make([]string, 0, len(m))
	for op, n := range m {
		if n > 0 {
			ops = append(ops, op)
		}
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		if op == "same" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d %s", m[op], op))
	}
	if m["same"] > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", m["same"]))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// EngineResult renders the outcome of an operation (JSON: one line, the last of the event stream).
func EngineResult(w io.Writer, format string, r provision.Result) error {
	return RenderLine(w, format, struct {
		Kind string `json:"kind"`
		provision.Result
	}{"result", r}, func(w io.Writer) error { return engineResultHuman(w, r) })
}

func engineResultHuman(w io.Writer, r provision.Result) error {
	fmt.Fprintf(w, "%s %s: %s (%.1fs)\n", r.Operation, r.Stack, Changes(r.Changes), r.Seconds)
	if r.PlanFile != "" {
		verb := "plan saved to"
		if r.Operation == "up" {
			verb = "applied plan"
		}
		fmt.Fprintf(w, "%s %s (sha256 %s)\n", verb, r.PlanFile, r.PlanSHA256)
	}
	if r.Override != "" {
		fmt.Fprintf(w, "promotion gate overridden: %s\n", r.Override)
	}
	return nil
}

// DriftReport renders what `plinth drift` found.
func DriftReport(w io.Writer, format string, rep provision.DriftReport) error {
	return Render(w, format, rep, func(w io.Writer) error { return driftHuman(w, rep) })
}

func driftHuman(w io.Writer, rep provision.DriftReport) error {
	if !rep.HasDrift {
		fmt.Fprintf(w, "no drift: %d resources of %s match the cloud (%.1fs)\n", rep.Checked, rep.Stack, rep.Seconds)
		return nil
	}
	fmt.Fprintf(w, "drift in %s: %d of %d resources differ from the cloud\n", rep.Stack, len(rep.Drifted), rep.Checked)
	for _, d := range rep.Drifted {
		what := "changed"
		if d.Op == "delete" {
			what = "deleted outside Pulumi"
		}
		line := fmt.Sprintf("  %-2s %s  %s  %s", opSymbol(d.Op), d.Name, d.Type, what)
		if len(d.Diffs) > 0 {
			line += ": " + strings.Join(d.Diffs, ", ")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "run `plinth refresh --stack %s` to accept the cloud's state, or `plinth up --stack %s` to restore the program's\n", rep.Stack, rep.Stack)
	return nil
}
