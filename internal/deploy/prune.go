package deploy

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// pruner removes a plan's old releases under the lock, beside the batches, off their critical path:
//
//   - ahead: once every host is staged, the releases beyond keep in the listing each host's stage step
//     printed (the new release counts as the newest). Neither the host's current release (the rollback
//     target) nor the new one is ever removed, so a batch that fails still rolls back; a deploy that
//     fails in staging removes nothing.
//   - after a host's switch, whatever its listing still shows beyond keep and was not removed ahead (a
//     host whose current release was not its newest: a rollback had moved it back). Usually nothing, so
//     no command runs and the last batch is followed by the unlock alone.
type pruner struct {
	ctx     context.Context
	e       *Executor
	p       *Plan
	wg      sync.WaitGroup
	mu      sync.Mutex
	removed map[string]map[string]bool // host -> versions removed ahead
}

func newPruner(ctx context.Context, e *Executor, p *Plan) *pruner {
	return &pruner{ctx: ctx, e: e, p: p, removed: map[string]map[string]bool{}}
}

// step is the host's prune step of the plan (its keep and its root, from the listing argv).
func (pr *pruner) step(host string) (HostSteps, bool) {
	for _, f := range pr.p.Finish {
		if f.Host == host && len(f.Steps) > 0 && f.Steps[0].Kind == StepPrune {
			return f, true
		}
	}
	return HostSteps{}, false
}

// ahead starts removing what the stage output of host (its current line and release lines) shows beyond
// keep. Nothing starts when it shows nothing to remove.
func (pr *pruner) ahead(host string, stageOut []byte) {
	f, ok := pr.step(host)
	if !ok || len(stageOut) == 0 {
		return
	}
	l, err := ParseListing(listingLines(stageOut))
	if err != nil {
		return // the prune after the switch lists again
	}
	del := PruneSet(l, f.Steps[0].Keep, pr.p.Version)
	if len(del) == 0 {
		return
	}
	pr.mu.Lock()
	pr.removed[host] = map[string]bool{}
	for _, v := range del {
		pr.removed[host][v] = true
	}
	pr.mu.Unlock()
	pr.run(f, func(ctx context.Context, h inventory.Host, s Step) error {
		return pr.e.remove(ctx, h, s, del)
	})
}

// after prunes host once switched, from listed (the listing its switch printed; ok false: none, list now),
// leaving out what was removed ahead.
func (pr *pruner) after(host string, listed []byte, ok bool) {
	f, found := pr.step(host)
	if !found {
		return
	}
	pr.mu.Lock()
	skip := pr.removed[host]
	pr.mu.Unlock()
	pr.run(f, func(ctx context.Context, h inventory.Host, s Step) error {
		if !ok {
			res, err := pr.e.runArgv(ctx, h, s)
			if err != nil {
				return err
			}
			listed = res.Stdout
		}
		l, err := ParseListing(listed)
		if err != nil {
			return err
		}
		var del []string
		for _, v := range PruneSet(l, s.Keep, pr.p.Version) {
			if !skip[v] {
				del = append(del, v)
			}
		}
		return pr.e.remove(ctx, h, s, del)
	})
}

// run carries out f's prune in the background, with its events. Failures are reported, not fatal: the
// deploy is done on this host.
func (pr *pruner) run(f HostSteps, do func(context.Context, inventory.Host, Step) error) {
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		_ = pr.e.parallel(pr.ctx, pr.p, PhaseFinish, 0, []HostSteps{f}, do)
	}()
}

func (pr *pruner) wait() { pr.wg.Wait() }

// remove deletes versions (none: nothing runs) under the root of s, the host's listing step.
func (e *Executor) remove(ctx context.Context, h inventory.Host, s Step, versions []string) error {
	if len(versions) == 0 {
		return nil
	}
	ctx, cancel := e.withStepTimeout(ctx)
	defer cancel()
	root := strings.TrimSuffix(s.Argv[len(s.Argv)-1], "/")
	_, err := e.Runner.Run(ctx, h, Command{Argv: RemoveArgv(root, versions)})
	return err
}

// listingLines keeps the lines of a listing ("current ...", "release ...") from a stage step's output.
func listingLines(out []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("current ")) || bytes.HasPrefix(line, []byte("release ")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}
