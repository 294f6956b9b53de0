package views

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// DeployView renders deploy events: one line per host and step for humans (with an upload progress bar
// on a terminal), or one JSON object per event for CI (--output json).
type DeployView struct {
	w        io.Writer
	json     bool
	progress bool

	mu      sync.Mutex
	sent    map[string]int64
	total   map[string]int64
	barLive bool
}

// NewDeployProgress builds a view in format (--output: FormatJSON selects JSON lines); progress enables the
// terminal progress bar (human only).
func NewDeployProgress(w io.Writer, format string, progress bool) *DeployView {
	jsonOut := format == FormatJSON
	return &DeployView{w: w, json: jsonOut, progress: progress && !jsonOut, sent: map[string]int64{}, total: map[string]int64{}}
}

// Event renders one event.
func (v *DeployView) Event(ev deploy.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.json {
		_ = JSONLine(v.w, ev)
		return
	}
	if ev.Status == deploy.StatusProgress {
		v.sent[ev.Host], v.total[ev.Host] = ev.Bytes, ev.Total
		if ev.Message != "" {
			v.clearBar()
			fmt.Fprintf(v.w, "%-8s %-14s %-8s %-5s %s (%s)\n", ev.Phase, ev.Host, ev.Step, "ok", ev.Message, Bytes(ev.Bytes))
			return
		}
		if v.progress {
			v.drawBar()
		}
		return
	}
	if ev.Status == deploy.StatusStart && ev.Phase != deploy.PhaseLock {
		return // a line per finished step is enough; starts go to JSON only
	}
	v.clearBar()
	switch ev.Phase {
	case deploy.PhaseLock:
		fmt.Fprintf(v.w, "%-8s %-14s %-8s %-5s %s\n", "lock", ev.Stack, "", ev.Status, ev.Message)
	case deploy.PhaseDone:
		fmt.Fprintf(v.w, "done     %s/%s %s: %s sent in %s\n", ev.Stack, ev.Tier, ev.Version, Bytes(ev.Bytes), time.Duration(ev.Elapsed).Round(time.Millisecond))
	default:
		batch := ""
		if ev.Batch > 0 {
			batch = fmt.Sprintf(" [batch %d]", ev.Batch)
		}
		msg := ""
		if ev.Message != "" {
			msg = "  " + strings.ReplaceAll(ev.Message, "\n", "\n    | ")
		}
		fmt.Fprintf(v.w, "%-8s %-14s %-8s %-5s %6s%s%s\n", ev.Phase, ev.Host, ev.Step, ev.Status,
			time.Duration(ev.Elapsed).Round(time.Millisecond), batch, msg)
	}
}

func (v *DeployView) drawBar() {
	var sent, total int64
	done := 0
	for h, t := range v.total {
		sent += v.sent[h]
		total += t
		if v.sent[h] >= t {
			done++
		}
	}
	if total == 0 {
		return
	}
	const width = 30
	fill := int(float64(width) * float64(sent) / float64(total))
	fill = min(max(fill, 0), width)
	fmt.Fprintf(v.w, "\rupload   [%s%s] %s / %s  %d/%d hosts", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		Bytes(sent), Bytes(total), done, len(v.total))
	v.barLive = true
}

func (v *DeployView) clearBar() {
	if v.barLive {
		fmt.Fprint(v.w, "\r\033[K")
		v.barLive = false
	}
}

// DeployResult is the summary of one tier's deploy or rollback.
type DeployResult struct {
	Stack      string   `json:"stack"`
	Tier       string   `json:"tier"`
	Version    string   `json:"version"`
	Action     string   `json:"action"`
	Result     string   `json:"result"`
	BytesSent  int64    `json:"bytesSent"`
	ElapsedMs  int64    `json:"elapsedMs"`
	Switched   []string `json:"switched"`
	RolledBack []string `json:"rolledBack,omitempty"`
	Error      string   `json:"error,omitempty"`
	FailedHost string   `json:"failedHost,omitempty"`
	// Escrow is the release's artifact in the stack's release escrow (s3://...).
	Escrow string `json:"escrow,omitempty"`
}

// DeployResults prints the summary in format (JSON: one final line {"results": [...]}).
func DeployResults(w io.Writer, format string, results []DeployResult) error {
	return RenderLine(w, format, map[string]any{"results": results}, func(w io.Writer) error { return deployResultsHuman(w, results) })
}

func deployResultsHuman(w io.Writer, results []DeployResult) error {
	for _, r := range results {
		fmt.Fprintf(w, "%s %s/%s %s: %s, %d host(s) switched, %s sent, %s\n", r.Action, r.Stack, r.Tier, r.Version, r.Result,
			len(r.Switched), Bytes(r.BytesSent), (time.Duration(r.ElapsedMs) * time.Millisecond).String())
		if r.Escrow != "" {
			fmt.Fprintf(w, "  kept in escrow: %s\n", r.Escrow)
		}
		if len(r.RolledBack) > 0 {
			fmt.Fprintf(w, "  rolled back: %s\n", strings.Join(r.RolledBack, ", "))
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  failed on %s: %s\n", r.FailedHost, r.Error)
		}
	}
	return nil
}

// DeployPlan prints a plan (--dry-run) in format: the ordered steps per host.
func DeployPlan(w io.Writer, format string, p *deploy.Plan) error {
	return Render(w, format, p, func(w io.Writer) error { return planHuman(w, p) })
}

func planHuman(w io.Writer, p *deploy.Plan) error {
	fmt.Fprintf(w, "plan %s/%s %s: %d host(s), batches of %d, >= %d in service\n", p.Stack, p.Tier, p.Version, len(p.Hosts), p.BatchSize, p.MinHealthy)
	show := func(phase string, hs deploy.HostSteps) {
		for _, s := range hs.Steps {
			detail := ""
			switch {
			case s.Upload != nil:
				detail = s.Upload.Local + " -> " + s.Upload.Remote
			case s.Health != nil:
				detail = fmt.Sprintf("GET http://127.0.0.1:%d%s (version %s)", s.Health.Port, s.Health.Path, s.Health.Version)
			case len(s.Argv) > 3 && s.Argv[0] == "sh" && s.Argv[1] == "-c":
				detail = s.Argv[3] + " " + strings.Join(s.Argv[4:], " ")
			case s.Argv != nil:
				detail = strings.Join(s.Argv, " ")
			}
			fmt.Fprintf(w, "  %-8s %-14s %-8s %s\n", phase, hs.Host, s.Kind, detail)
		}
	}
	for _, hs := range p.Stage {
		show("stage", hs)
	}
	for i, b := range p.Batches {
		for _, hs := range b {
			show(fmt.Sprintf("batch %d", i+1), hs)
		}
	}
	for _, hs := range p.Finish {
		show("finish", hs)
	}
	return nil
}

// DeployLock prints a lock's holder (nil: free) in format.
func DeployLock(w io.Writer, format string, stack string, info *deploy.LockInfo) error {
	return Render(w, format, map[string]any{"stack": stack, "locked": info != nil, "holder": info},
		func(w io.Writer) error { return lockHuman(w, stack, info) })
}

func lockHuman(w io.Writer, stack string, info *deploy.LockInfo) error {
	if info == nil {
		fmt.Fprintf(w, "stack %s: not locked\n", stack)
		return nil
	}
	fmt.Fprintf(w, "stack %s: locked by %s since %s (%s %s %s)", stack, info.Holder, info.Time.UTC().Format(time.RFC3339), info.Action, info.Tier, info.Version)
	if info.Message != "" {
		fmt.Fprintf(w, ": %s", info.Message)
	}
	fmt.Fprintln(w)
	return nil
}

// DeployHistory prints audit records in format, one per line.
func DeployHistory(w io.Writer, format string, recs []deploy.AuditRecord) error {
	if recs == nil {
		recs = []deploy.AuditRecord{}
	}
	return Render(w, format, recs, func(w io.Writer) error { return historyHuman(w, recs) })
}

func historyHuman(w io.Writer, recs []deploy.AuditRecord) error {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	for _, r := range recs {
		line := fmt.Sprintf("%s  %-10s %-8s %-8s %-20s %-9s %s", r.Time.UTC().Format(time.RFC3339), r.Stack, r.Tier, r.Action, r.Version, r.Result, r.Holder)
		if r.Message != "" {
			line += "  " + r.Message
		}
		if r.Error != "" {
			line += "  error: " + r.Error
		}
		fmt.Fprintln(w, line)
	}
	return nil
}
