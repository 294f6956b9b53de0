package drill

import (
	"time"
)

// Verdicts of a drill.
const (
	VerdictMet        = "met"        // RTO and RPO measured, both within target
	VerdictMissed     = "missed"     // measured, and a target was missed (exit 9)
	VerdictIncomplete = "incomplete" // a step failed or was cancelled: RTO or RPO not measured
)

// Step statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped" // not run: an earlier step failed, or --keep for teardown
	StatusKept    = "kept"
)

// StepResult is one step's outcome.
type StepResult struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Status  string  `json:"status"`
	Error   string  `json:"error,omitempty"`
}

// Report is the outcome of a drill: what the human view and the JSON object render, and what the
// history keeps.
type Report struct {
	ID        string    `json:"id"`
	Stack     string    `json:"stack"`
	Source    string    `json:"source"`
	BackupID  string    `json:"backupId,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	// RTOSeconds: T0 to the first successful write through the drill load balancer; null when not reached.
	RTOSeconds *float64 `json:"rtoSeconds"`
	// RPOSeconds: the measured data loss (see RPO); null when not measured.
	RPOSeconds       *float64 `json:"rpoSeconds"`
	RTOTarget        string   `json:"rtoTarget"`
	RPOTarget        string   `json:"rpoTarget"`
	RTOTargetSeconds float64  `json:"rtoTargetSeconds"`
	RPOTargetSeconds float64  `json:"rpoTargetSeconds"`
	Verdict          string   `json:"verdict"`
	Missed           []string `json:"missed,omitempty"`
	RPO              *RPO     `json:"rpo,omitempty"`
	// Tables: the drill database's tables against the source's at one GTID position (the data step).
	Tables *TableMatch `json:"tables,omitempty"`
	// Releases is the release production runs per tier (its deploy audit) and its artifact in the escrow,
	// as the preflight found them.
	Releases []Release `json:"releases,omitempty"`
	// Verify is what the verify step saw: the write through the drill load balancer (its /health) and, where
	// the data source reads the drill database, that write found there.
	Verify *VerifyResult `json:"verify,omitempty"`
	Steps  []StepResult  `json:"steps"`
	// LeftBehind counts the drill's resources found after teardown (one that could not be listed counts).
	LeftBehind     int      `json:"leftBehind"`
	LeftBehindList []string `json:"leftBehindList,omitempty"`
	Kept           bool     `json:"kept,omitempty"`
	TeardownHint   string   `json:"teardownHint,omitempty"`
}

// judge sets the verdict from the measurements and the plan's targets.
func (r *Report) judge(p Plan, failed bool) {
	r.Missed = nil
	if failed || r.RTOSeconds == nil || r.RPOSeconds == nil {
		r.Verdict = VerdictIncomplete
		return
	}
	if *r.RTOSeconds > p.RTOTarget.Seconds() {
		r.Missed = append(r.Missed, "rto")
	}
	if *r.RPOSeconds > p.RPOTarget.Seconds() {
		r.Missed = append(r.Missed, "rpo")
	}
	r.Verdict = VerdictMet
	if len(r.Missed) > 0 {
		r.Verdict = VerdictMissed
	}
}

func seconds(d time.Duration) *float64 {
	s := roundSeconds(d)
	return &s
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
