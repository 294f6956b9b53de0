package deploy

import (
	"context"
	"strings"
	"sync"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// ahead holds the commands a rollout prepared ahead of their steps (when the runner is a Preparer and the
// fan-out is not bounded): each host's stage while its transfer runs, and each batch's switch while the
// batch before it is switched and checked. A prepared command is keyed by its host and its exact argv, so
// only the step it was prepared for runs it (a rollback's switch to the previous release never does); the
// ones left unused are cancelled: they never run.
type ahead struct {
	mu sync.Mutex
	m  map[string]aheadCmd
}

type aheadCmd struct {
	p      Prepared
	cancel context.CancelFunc
}

func newAhead() *ahead { return &ahead{m: map[string]aheadCmd{}} }

func aheadKey(host string, argv []string) string { return host + "\x00" + strings.Join(argv, "\x00") }

// prepare starts s's command on h ahead (bounded by the step timeout until it runs), when e can.
func (e *Executor) prepare(ctx context.Context, a *ahead, h inventory.Host, s Step) {
	pr, ok := e.Runner.(Preparer)
	if !ok || a == nil || e.Parallel > 0 || len(s.Argv) == 0 {
		return
	}
	key := aheadKey(h.Name, s.Argv)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.m[key]; dup {
		return
	}
	pctx, cancel := e.withStepTimeout(ctx)
	a.m[key] = aheadCmd{p: pr.Prepare(pctx, h, Command{Argv: s.Argv}), cancel: cancel}
}

// take returns the command prepared for s on h, if any (it is then the caller's to run).
func (a *ahead) take(h inventory.Host, s Step) (aheadCmd, bool) {
	if a == nil {
		return aheadCmd{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := aheadKey(h.Name, s.Argv)
	c, ok := a.m[key]
	delete(a.m, key)
	return c, ok
}

// cancelAll cancels every command prepared and not taken.
func (a *ahead) cancelAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, c := range a.m {
		c.p.Cancel()
		c.cancel()
		delete(a.m, k)
	}
}

// runStepArgv runs s on h like runArgv, through its prepared command when there is one.
func (e *Executor) runStepArgv(ctx context.Context, a *ahead, h inventory.Host, s Step) (Result, error) {
	c, ok := a.take(h, s)
	if !ok {
		return e.runArgv(ctx, h, s)
	}
	defer c.cancel()
	ctx, cancel := e.withStepTimeout(ctx)
	defer cancel()
	return c.p.Run(ctx, nil)
}

// prepareSwitches prepares the switch commands of batch bi (when not prepared yet) and of the batch after
// it, as batch bi starts.
func (e *Executor) prepareSwitches(ctx context.Context, a *ahead, p *Plan, queue [][]HostSteps, bi int) {
	for _, b := range queue[bi:min(bi+2, len(queue))] {
		for _, hs := range b {
			h, ok := p.Host(hs.Host)
			if !ok {
				continue
			}
			for _, s := range hs.Steps {
				if s.Kind == StepSwitch {
					e.prepare(ctx, a, h, s)
				}
			}
		}
	}
}
