package provision

import (
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Event kinds.
const (
	EventStart   = "start"   // a resource step begins
	EventDone    = "done"    // a resource step finished
	EventFailed  = "failed"  // a resource step failed
	EventDiag    = "diag"    // a diagnostic message (info, warning, error)
	EventPolicy  = "policy"  // a policy violation
	EventSummary = "summary" // the operation's totals
	EventAudit   = "audit"   // plinth's own record (promotion override, plan applied)
	// EventRefreshed is a refresh (or drift check) finding a resource changed or deleted in the cloud.
	EventRefreshed = "refreshed"
)

// Event is one engine event, reduced to what plinth shows (progress lines or --output json).
type Event struct {
	Time     time.Time      `json:"time"`
	Kind     string         `json:"kind"`
	Op       string         `json:"op,omitempty"`
	URN      string         `json:"urn,omitempty"`
	Type     string         `json:"type,omitempty"`
	Name     string         `json:"name,omitempty"`
	Diffs    []string       `json:"diffs,omitempty"`
	Severity string         `json:"severity,omitempty"`
	Message  string         `json:"message,omitempty"`
	Policy   string         `json:"policy,omitempty"`
	Changes  map[string]int `json:"changes,omitempty"`
	Seconds  float64        `json:"seconds,omitempty"`
	Preview  bool           `json:"preview,omitempty"`
}

// convert reduces an engine event; ok is false for events plinth does not show.
func convert(e events.EngineEvent, now time.Time) (Event, bool) {
	ev := Event{Time: now}
	switch {
	case e.ResourcePreEvent != nil:
		m := e.ResourcePreEvent.Metadata
		ev.Kind, ev.Op, ev.URN, ev.Type, ev.Diffs = EventStart, string(m.Op), m.URN, m.Type, m.Diffs
	case e.ResOutputsEvent != nil:
		m := e.ResOutputsEvent.Metadata
		ev.Kind, ev.Op, ev.URN, ev.Type, ev.Diffs = EventDone, string(m.Op), m.URN, m.Type, m.Diffs
	case e.ResOpFailedEvent != nil:
		m := e.ResOpFailedEvent.Metadata
		ev.Kind, ev.Op, ev.URN, ev.Type = EventFailed, string(m.Op), m.URN, m.Type
	case e.DiagnosticEvent != nil:
		d := e.DiagnosticEvent
		if d.Ephemeral || d.Severity == "debug" {
			return ev, false
		}
		msg := strings.TrimSpace(stripANSI(d.Message))
		if msg == "" {
			return ev, false
		}
		ev.Kind, ev.URN, ev.Severity, ev.Message = EventDiag, d.URN, d.Severity, msg
	case e.PolicyEvent != nil:
		p := e.PolicyEvent
		ev.Kind, ev.URN, ev.Severity, ev.Policy = EventPolicy, p.ResourceURN, p.EnforcementLevel, p.PolicyPackName+"/"+p.PolicyName
		ev.Message = strings.TrimSpace(stripANSI(p.Message))
	case e.SummaryEvent != nil:
		s := e.SummaryEvent
		ev.Kind, ev.Seconds, ev.Preview = EventSummary, float64(s.DurationSeconds), s.IsPreview
		ev.Changes = map[string]int{}
		for op, n := range s.ResourceChanges {
			ev.Changes[string(op)] = n
		}
	default:
		return ev, false
	}
	if ev.URN != "" {
		ev.Name = urnName(ev.URN)
	}
	return ev, true
}

// urnName is the resource name part of a URN (the SDK's reading; the whole string when it is not a URN).
func urnName(urn string) string {
	if u := resource.URN(urn); u.IsValid() {
		return u.Name()
	}
	return urn
}

// stripANSI removes terminal colour codes and Pulumi's <{%...%}> colour markup.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
		case strings.HasPrefix(s[i:], "<{%"):
			if j := strings.Index(s[i:], "%}>"); j >= 0 {
				i += j + 2
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// refreshed marks the step results of a refresh that found a change in the cloud.
func refreshed(ev Event, refreshing bool) Event {
	if refreshing && ev.Kind == EventDone && ev.Op != "same" && ev.Op != "" {
		ev.Kind = EventRefreshed
	}
	return ev
}
