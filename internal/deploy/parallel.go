package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// parallel runs each host's steps in order, hosts concurrently; every host runs to its end or its first
// failure. Failures come back as *HostError, joined.
func (e *Executor) parallel(ctx context.Context, p *Plan, phase Phase, batchNo int, work []HostSteps, do func(context.Context, inventory.Host, Step) error) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, hs := range work {
		h, ok := p.Host(hs.Host)
		if !ok {
			return fmt.Errorf("plan: unknown host %s", hs.Host)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.acquire()()
			for _, s := range hs.Steps {
				t0 := time.Now()
				e.emit(p, Event{Phase: phase, Host: h.Name, Step: s.Kind, Status: StatusStart, Batch: batchNo})
				err := do(ctx, h, s)
				ev := Event{Phase: phase, Host: h.Name, Step: s.Kind, Status: StatusOK, Batch: batchNo, Elapsed: Millis(time.Since(t0))}
				if err != nil {
					he := asHostError(h, s.Kind, err)
					ev.Status, ev.Message = StatusFail, he.Err.Error()
					if he.Logs != "" {
						ev.Message += "\n" + he.Logs
					}
					e.emit(p, ev)
					mu.Lock()
					errs = append(errs, he)
					mu.Unlock()
					return
				}
				e.emit(p, ev)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func asHostError(h inventory.Host, kind StepKind, err error) *HostError {
	var he *HostError
	if errors.As(err, &he) {
		return he
	}
	return &HostError{Host: h.Name, Step: kind, Err: classify(h.Root, err)}
}

// runStep runs one step with start/ok/fail events (rollbacks).
func (e *Executor) runStep(ctx context.Context, p *Plan, phase Phase, batchNo int, h inventory.Host, s Step) error {
	t0 := time.Now()
	e.emit(p, Event{Phase: phase, Host: h.Name, Step: s.Kind, Status: StatusStart, Batch: batchNo})
	err := e.step(ctx, p, h, s)
	ev := Event{Phase: phase, Host: h.Name, Step: s.Kind, Status: StatusOK, Batch: batchNo, Elapsed: Millis(time.Since(t0))}
	if err != nil {
		ev.Status, ev.Message = StatusFail, err.Error()
	}
	e.emit(p, ev)
	return err
}
