package deploybench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// phases are the timings of one plinth round, from its events: where a slow round loses its time.
type phases struct {
	start, locked, staged, switched time.Time
	total                           time.Duration
	steps                           map[string][]time.Duration // "stage/upload", "switch/health", "check/check", ... one per host (or batch)
}

func newPhases() *phases { return &phases{steps: map[string][]time.Duration{}} }

func (p *phases) event(ev deploy.Event) {
	if ev.Status != deploy.StatusOK {
		return
	}
	switch ev.Phase {
	case deploy.PhaseLock:
		p.locked = ev.Time
	case deploy.PhaseStage:
		if ev.Step != "" && ev.Elapsed > 0 {
			p.staged = ev.Time
		}
	case deploy.PhaseSwitch:
		p.switched = ev.Time
	}
	if ev.Step != "" && ev.Elapsed > 0 {
		k := string(ev.Phase) + "/" + string(ev.Step)
		p.steps[k] = append(p.steps[k], time.Duration(ev.Elapsed))
	}
}

// spans are the round's consecutive parts: lock (connecting overlaps it), staging, switching, the rest.
func (p *phases) spans() map[string]time.Duration {
	return map[string]time.Duration{
		"lock":   p.locked.Sub(p.start),
		"stage":  p.staged.Sub(p.locked),
		"switch": p.switched.Sub(p.staged),
		"tail":   p.total - p.switched.Sub(p.start),
	}
}

var spanOrder = []string{"lock", "stage", "switch", "tail"}

// printPhases prints, over the rounds, each span's median [min max], then one line per round with its
// spans and the per-host step medians and maxima, slowest round first.
func printPhases(rounds []phases) {
	var b strings.Builder
	b.WriteString("  phases, median [min max] over rounds:")
	for _, name := range spanOrder {
		var ds []time.Duration
		for _, r := range rounds {
			ds = append(ds, r.spans()[name])
		}
		m, _ := median(ds)
		fmt.Fprintf(&b, " %s %.2fs [%.2f %.2f]", name, m.Seconds(), slices.Min(ds).Seconds(), slices.Max(ds).Seconds())
	}
	fmt.Println(b.String())
	order := make([]int, len(rounds))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, c int) int { return int(rounds[c].total - rounds[a].total) })
	for _, i := range order {
		r := rounds[i]
		b.Reset()
		fmt.Fprintf(&b, "  round %d %.2fs:", i+1, r.total.Seconds())
		sp := r.spans()
		for _, name := range spanOrder {
			fmt.Fprintf(&b, " %s %.2f", name, sp[name].Seconds())
		}
		b.WriteString(" | per host med/max:")
		keys := make([]string, 0, len(r.steps))
		for k := range r.steps {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			m, _ := median(r.steps[k])
			fmt.Fprintf(&b, " %s %d/%dms", k, m.Milliseconds(), slices.Max(r.steps[k]).Milliseconds())
		}
		fmt.Println(b.String())
	}
}
