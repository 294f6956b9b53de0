package deploy

import (
	"strconv"
	"time"
)

// Event is one line of progress: a step starting, finishing or failing on a host, or upload progress.
type Event struct {
	Time    time.Time `json:"time"`
	Stack   string    `json:"stack,omitempty"`
	Tier    string    `json:"tier,omitempty"`
	Version string    `json:"version,omitempty"`
	Host    string    `json:"host,omitempty"`
	Phase   Phase     `json:"phase"`
	Step    StepKind  `json:"step,omitempty"`
	Status  Status    `json:"status"`
	Batch   int       `json:"batch,omitempty"`
	Bytes   int64     `json:"bytes,omitempty"`
	Total   int64     `json:"total,omitempty"`
	Elapsed Millis    `json:"elapsedMs,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Phase is the part of a deploy an event belongs to.
type Phase string

// Phases.
const (
	PhaseLock     Phase = "lock"
	PhaseStage    Phase = "stage"
	PhaseCheck    Phase = "check" // the tier's health, before a batch is taken out
	PhaseSwitch   Phase = "switch"
	PhaseRollback Phase = "rollback"
	PhaseFinish   Phase = "finish"
	PhaseDone     Phase = "done"
)

// Status of an event.
type Status string

// Statuses.
const (
	StatusStart    Status = "start"
	StatusOK       Status = "ok"
	StatusFail     Status = "fail"
	StatusSkip     Status = "skip"
	StatusProgress Status = "progress"
)

// Millis is a duration rendered as integer milliseconds in JSON.
type Millis time.Duration

// MarshalJSON renders milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Duration(m).Milliseconds(), 10), nil
}
