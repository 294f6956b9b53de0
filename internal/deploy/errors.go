package deploy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HostError is a failure on one host; Logs holds the service's last log lines when a health check failed.
type HostError struct {
	Host string
	Step StepKind
	Err  error
	Logs string
}

// Error says what happened on which host, once: a host that stopped answering and a full disk have their
// own plain sentences; anything else is "deploy <host>: <step>: <cause>".
func (e *HostError) Error() string {
	var ue *UnresponsiveError
	if errors.As(e.Err, &ue) {
		return fmt.Sprintf("%s (%s) stopped responding: no answer for %s during %s", e.Host, ue.Addr, roundWait(ue.Silence), e.Step)
	}
	var ce *CapacityError
	if errors.As(e.Err, &ce) {
		return ce.Error()
	}
	var ne *NoSpaceError
	if errors.As(e.Err, &ne) {
		return fmt.Sprintf("%s: %s", e.Host, ne)
	}
	return fmt.Sprintf("deploy %s: %s: %v", e.Host, e.Step, e.Err)
}

func (e *HostError) Unwrap() error { return e.Err }

// UnresponsiveError is a host that stopped answering: its SSH connection carried nothing back for
// Silence, past a step's deadline (a hang: a stopped or wedged sshd, a host gone from the network
// without a reset). Runners return it so that the executor can say so, and give the host up quickly.
type UnresponsiveError struct {
	Addr    string
	Silence time.Duration
}

func (e *UnresponsiveError) Error() string {
	return fmt.Sprintf("%s stopped responding: no answer for %s", e.Addr, roundWait(e.Silence))
}

// roundWait renders a wait the way a person reads it: whole seconds from 2 s, tenths below.
func roundWait(d time.Duration) time.Duration {
	if d >= 2*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// NoSpaceError is a step that failed because the host's filesystem under Dir is full.
type NoSpaceError struct {
	Dir string
	Err error // the command's own error (its stderr names the tool and the file)
}

func (e *NoSpaceError) Error() string { return "no space left on device under " + e.Dir }

func (e *NoSpaceError) Unwrap() error { return e.Err }

// classify turns a step's error into what it means on the host when that is plain from the command's
// stderr (ENOSPC: every tool prints strerror's "No space left on device").
func classify(root string, err error) error {
	var ce *CommandError
	if errors.As(err, &ce) && strings.Contains(strings.ToLower(ce.Stderr), "no space left on device") {
		return &NoSpaceError{Dir: root, Err: err}
	}
	return err
}

// CapacityError is a batch that was not taken out because the hosts outside it that answer their health
// check are fewer than the tier's minHealthy.
type CapacityError struct {
	Batch      []string // the hosts that would have been taken out
	Unhealthy  []string // hosts of the tier that did not pass the check, each with why
	Healthy    int      // healthy hosts outside the batch
	Hosts      int      // hosts in the tier
	MinHealthy int
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("%s: taking %s out would leave %d of %d hosts healthy, fewer than minHealthy %d: the rollout stopped before it",
		strings.Join(e.Unhealthy, "; "), strings.Join(e.Batch, ", "), e.Healthy, e.Hosts, e.MinHealthy)
}
