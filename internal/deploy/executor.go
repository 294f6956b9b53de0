package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Executor runs plans: staging on every host in parallel, batches one after the other, rollback of a
// failed batch, pruning.
type Executor struct {
	Runner  Runner
	Drainer Drainer // nil: no load balancer
	// Emit receives progress events (serialized: never called concurrently).
	Emit func(Event)
	Now  func() time.Time
	// StepTimeout bounds every step on a host (default 10 minutes): a hung host fails its step.
	StepTimeout time.Duration
	// Parallel bounds the hosts worked on at once (staging, health checks of the tier, pruning; a session's
	// early connections likewise); 0 is every host at once.
	Parallel int
	// Store is the object store of pull staging (plans with Staging pull need it).
	Store ArtifactStore
	// HealthRate bounds the health requests per second that the checks before batches spend on hosts
	// outside the batch (default DefaultHealthRate; negative: ask every host before every batch). See freshFor.
	HealthRate float64

	emitMu    sync.Mutex
	slotsOnce sync.Once
	slots     chan struct{}
}

// acquire takes one of the Parallel slots (waiting for it) and returns its release.
func (e *Executor) acquire() func() {
	release, _ := e.acquireCtx(context.Background())
	return release
}

// acquireCtx is acquire, giving up (false) when ctx ends first.
func (e *Executor) acquireCtx(ctx context.Context) (func(), bool) {
	e.slotsOnce.Do(func() {
		if e.Parallel > 0 {
			e.slots = make(chan struct{}, e.Parallel)
		}
	})
	if e.slots == nil {
		return func() {}, true
	}
	select {
	case e.slots <- struct{}{}:
		return func() { <-e.slots }, true
	case <-ctx.Done():
		return func() {}, false
	}
}

// Outcome is what a plan did.
type Outcome struct {
	BytesSent  int64             `json:"bytesSent"`
	StoreBytes int64             `json:"storeBytes,omitempty"` // pull staging: bytes sent to the object store
	Switched   []string          `json:"switched"`
	RolledBack []string          `json:"rolledBack,omitempty"`
	Previous   map[string]string `json:"previous"`
	Elapsed    Millis            `json:"elapsedMs"`
}

// Execute runs p. On a failed batch it rolls that batch back to each host's previous release, stops,
// and returns the failure (a *HostError, joined with rollback failures).
func (e *Executor) Execute(ctx context.Context, p *Plan) (*Outcome, error) {
	return e.execute(ctx, p, nil)
}

// execute is Execute with the transfers a session started ahead (nil: none).
func (e *Executor) execute(ctx context.Context, p *Plan, tr *transfers) (*Outcome, error) {
	now := e.now()
	start := now()
	out := &Outcome{Previous: map[string]string{}}
	var mu sync.Mutex
	staged := map[string][]byte{} // what each host's stage step printed

	// Phase 1: stage everywhere, in parallel. Staging takes no capacity out. Pull staging first puts the
	// artifact in the store, once.
	if p.Staging == StagingPull {
		var n int64
		var err error
		if tr != nil {
			n, err = tr.waitPublished(ctx)
		} else {
			n, err = e.publish(ctx, p)
		}
		out.StoreBytes = n
		if err != nil {
			out.Elapsed = Millis(now().Sub(start))
			return out, err
		}
	}
	pre := newAhead()
	defer pre.cancelAll()
	for _, hs := range p.Stage {
		for _, s := range hs.Steps {
			if h, ok := p.Host(hs.Host); ok && s.Kind == StepStage {
				e.prepare(ctx, pre, h, s)
			}
		}
	}
	e.prepareSwitches(ctx, pre, p, p.Batches, 0)
	err := e.parallel(ctx, p, PhaseStage, 0, p.Stage, func(ctx context.Context, h inventory.Host, s Step) error {
		switch s.Kind {
		case StepCurrent, StepStage: // both print the host's current release first (stage: then its releases)
			res, err := e.runStepArgv(ctx, pre, h, s)
			if err != nil {
				return err
			}
			mu.Lock()
			out.Previous[h.Name] = CurrentVersion(res.Stdout)
			if s.Kind == StepStage {
				staged[h.Name] = res.Stdout
			}
			mu.Unlock()
			return nil
		case StepUpload, StepFetch:
			n, started, err := tr.wait(ctx, h.Name)
			if !started {
				n, err = e.transferNow(ctx, nil, p, h, s)
			}
			mu.Lock()
			out.BytesSent += n
			mu.Unlock()
			return err
		}
		return e.step(ctx, p, h, s)
	})
	if err != nil {
		out.Elapsed = Millis(now().Sub(start))
		return out, err
	}

	// Phase 2: batches. Phase 3, pruning, runs beside them: the releases beyond keep go as soon as every
	// host is staged (from the listing each stage printed), and after each host's switch whatever its
	// listing still shows beyond keep (see pruner).
	pr := newPruner(ctx, e, p)
	for _, hs := range p.Stage {
		pr.ahead(hs.Host, staged[hs.Host])
	}
	listings := map[string][]byte{}
	prune := func(batch []HostSteps) {
		for _, hs := range batch {
			mu.Lock()
			listed, ok := listings[hs.Host]
			mu.Unlock()
			pr.after(hs.Host, listed, ok)
		}
	}
	queue := slices.Clone(p.Batches)
	board := newHealthBoard(time.Now)
	for bi := 0; bi < len(queue); bi++ {
		batch := queue[bi]
		if len(batch) == 0 {
			continue // its hosts were switched ahead of it
		}
		e.prepareSwitches(ctx, pre, p, queue, bi) // this batch's and the next one's, waiting for their go
		// N of N+1: nothing is taken out unless the rest of the tier can carry it, as it is now.
		pulled, err := e.checkTier(ctx, p, bi+1, batch, queue[bi+1:], out, board)
		if err != nil {
			pr.wait()
			out.Elapsed = Millis(now().Sub(start))
			return out, err
		}
		if pulled != nil {
			queue = switchFirst(queue, bi, pulled)
			batch = queue[bi]
			e.prepareSwitches(ctx, pre, p, queue, bi)
		}
		attempted := map[string]bool{}
		drained := map[string]bool{}
		err = e.parallel(ctx, p, PhaseSwitch, bi+1, batch, func(ctx context.Context, h inventory.Host, s Step) error {
			mu.Lock()
			switch s.Kind {
			case StepDrain:
				drained[h.Name] = true
			case StepSwitch:
				attempted[h.Name] = true
			}
			mu.Unlock()
			if s.Kind == StepSwitch { // it prints the host's releases once switched
				res, err := e.runStepArgv(ctx, pre, h, s)
				if err == nil {
					mu.Lock()
					listings[h.Name] = res.Stdout
					mu.Unlock()
				}
				return err
			}
			err := e.step(ctx, p, h, s)
			if s.Kind == StepHealth {
				board.record(h.Name, err)
			}
			return err
		})
		if err == nil {
			for _, hs := range batch {
				out.Switched = append(out.Switched, hs.Host)
			}
			prune(batch)
			continue
		}
		// Roll the batch back; use a context that survives the caller's cancellation for the repair.
		pre.cancelAll()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		rbErr := e.rollbackBatch(rctx, p, bi+1, batch, attempted, drained, hung(err), out)
		cancel()
		pr.wait()
		out.Elapsed = Millis(now().Sub(start))
		return out, errors.Join(err, rbErr)
	}
	pr.wait()
	out.Elapsed = Millis(now().Sub(start))
	e.emit(p, Event{Phase: PhaseDone, Status: StatusOK, Bytes: out.BytesSent, Elapsed: out.Elapsed})
	return out, nil
}

// switchFirst moves the hosts of pulled out of their batches after bi into a batch of their own, run
// before batch bi.
func switchFirst(queue [][]HostSteps, bi int, pulled []HostSteps) [][]HostSteps {
	moved := map[string]bool{}
	for _, hs := range pulled {
		moved[hs.Host] = true
	}
	out := append(slices.Clone(queue[:bi]), pulled)
	for _, b := range queue[bi:] {
		out = append(out, slices.DeleteFunc(slices.Clone(b), func(hs HostSteps) bool { return moved[hs.Host] }))
	}
	return out
}

// hungRetry bounds reconnecting to a host that just stopped responding, before its rollback: one more
// chance, long enough for a live host to be reached again through the bastion, short enough that a hung
// host fails the deploy within the step timeout and a few seconds. Once it answers, the rollback's steps
// have the step timeout like any other.
const hungRetry = 3 * time.Second

// hung lists the hosts whose failure in err is that they stopped responding.
func hung(err error) map[string]bool {
	out := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var he *HostError
		var ue *UnresponsiveError
		if errors.As(err, &he) && errors.As(he.Err, &ue) {
			out[he.Host] = true
		}
	}
	walk(err)
	return out
}

func (e *Executor) rollbackBatch(ctx context.Context, p *Plan, batchNo int, batch []HostSteps, attempted, drained, hung map[string]bool, out *Outcome) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, hs := range batch {
		h, _ := p.Host(hs.Host)
		prev := out.Previous[h.Name]
		var steps []Step
		switch {
		case attempted[h.Name] && prev != "" && prev != p.Version:
			for _, s := range SwitchSteps(p.Config, p.Tier, h, prev, p.Drain) {
				if s.Kind != StepDrain && s.Kind != StepPre && s.Kind != StepPost {
					steps = append(steps, s)
				}
			}
		case attempted[h.Name]:
			e.emit(p, Event{Phase: PhaseRollback, Host: h.Name, Status: StatusSkip, Batch: batchNo,
				Message: "no previous release on this host: left drained"})
			continue
		case drained[h.Name]:
			steps = []Step{{Kind: StepEnable}}
		default:
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctx
			if hung[h.Name] {
				// Reconnect within hungRetry; a runner that cannot connect ahead gets that bound for the
				// whole rollback instead.
				cctx, cancel := context.WithTimeout(ctx, min(hungRetry, e.stepTimeout()))
				defer cancel()
				var err error
				if c, ok := e.Runner.(Connector); ok {
					err = c.Connect(cctx, h)
				} else {
					ctx = cctx
				}
				if err != nil {
					err = asHostError(h, steps[0].Kind, err)
					e.emit(p, Event{Phase: PhaseRollback, Host: h.Name, Step: steps[0].Kind, Status: StatusFail, Batch: batchNo, Message: err.Error()})
					mu.Lock()
					errs = append(errs, fmt.Errorf("rollback %s to %s: %w", h.Name, prev, err))
					mu.Unlock()
					return
				}
			}
			for _, s := range steps {
				if err := e.runStep(ctx, p, PhaseRollback, batchNo, h, s); err != nil {
					err = asHostError(h, s.Kind, err)
					mu.Lock()
					errs = append(errs, fmt.Errorf("rollback %s to %s: %w", h.Name, prev, err))
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			out.RolledBack = append(out.RolledBack, h.Name)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// withStepTimeout bounds one step on a host: a hung host fails its step.
func (e *Executor) withStepTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.stepTimeout())
}

// DefaultStepTimeout bounds a step when Executor.StepTimeout is not set.
const DefaultStepTimeout = 10 * time.Minute

func (e *Executor) stepTimeout() time.Duration {
	if e.StepTimeout <= 0 {
		return DefaultStepTimeout
	}
	return e.StepTimeout
}

// step carries out one step on h.
func (e *Executor) step(ctx context.Context, p *Plan, h inventory.Host, s Step) error {
	ctx, cancel := e.withStepTimeout(ctx)
	defer cancel()
	switch s.Kind {
	case StepDrain:
		if e.Drainer == nil {
			return nil
		}
		return e.Drainer.Drain(ctx, p.Tier, h)
	case StepEnable:
		if e.Drainer == nil {
			return nil
		}
		return e.Drainer.Enable(ctx, p.Tier, h)
	case StepHealth:
		if err := e.health(ctx, h, *s.Health); err != nil {
			he := &HostError{Host: h.Name, Step: StepHealth, Err: err}
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			argv := LogsArgv(p.Config, p.Tier, h, s.Health.Version)
			if res, lerr := e.Runner.Run(lctx, h, Command{Argv: argv}); lerr == nil {
				he.Logs = strings.TrimRight(string(res.Stdout), "\n")
			} else {
				he.Logs = "(logs unavailable: " + lerr.Error() + ")"
			}
			return he
		}
		return nil
	case StepUpload:
		_, err := e.upload(ctx, p, h, *s.Upload)
		return err
	}
	_, err := e.runArgv(ctx, h, s)
	return err
}

// runArgv runs an argv step on h, bounded like every step, and returns what it printed.
func (e *Executor) runArgv(ctx context.Context, h inventory.Host, s Step) (Result, error) {
	if len(s.Argv) == 0 {
		return Result{}, fmt.Errorf("step %s: empty command", s.Kind)
	}
	ctx, cancel := e.withStepTimeout(ctx)
	defer cancel()
	return e.Runner.Run(ctx, h, Command{Argv: s.Argv})
}

func (e *Executor) upload(ctx context.Context, p *Plan, h inventory.Host, u UploadSpec) (int64, error) {
	var last time.Time
	n, err := e.Runner.Upload(ctx, h, u, func(sent int64) {
		if t := time.Now(); t.Sub(last) >= 100*time.Millisecond || sent == u.Size {
			last = t
			e.emit(p, Event{Phase: PhaseStage, Host: h.Name, Step: StepUpload, Status: StatusProgress, Bytes: sent, Total: u.Size})
		}
	})
	if err == nil {
		msg := "sent"
		if n == 0 {
			msg = "already on host (sha256 verified): 0 bytes sent"
		}
		e.emit(p, Event{Phase: PhaseStage, Host: h.Name, Step: StepUpload, Status: StatusProgress, Bytes: n, Total: u.Size, Message: msg})
	}
	return n, err
}

func (e *Executor) emit(p *Plan, ev Event) {
	if e.Emit == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.now()()
	}
	ev.Stack, ev.Tier, ev.Version = p.Stack, p.Tier, p.Version
	e.emitMu.Lock()
	defer e.emitMu.Unlock()
	e.Emit(ev)
}

func (e *Executor) now() func() time.Time {
	if e.Now != nil {
		return e.Now
	}
	return time.Now
}
