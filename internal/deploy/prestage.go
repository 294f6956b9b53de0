package deploy

import (
	"context"
	"sync"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// transfers are a plan's artifact transfers started ahead of its execution, while the session takes the
// lock: the push uploads, or the pull's one publish to the store and then every host's fetch. They are
// content-addressed (a host's copy lands in .artifacts/<sha256> after its sha256 is verified), so they
// change nothing a host serves and link nothing: building the release, switching and pruning wait for the
// lock and the "started" audit record. Execute then waits for each host's transfer instead of starting it.
type transfers struct {
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	published chan struct{}
	storeN    int64
	storeErr  error
	hosts     map[string]*transfer
}

type transfer struct {
	done chan struct{}
	n    int64
	err  error
}

// startTransfers starts p's transfers. It returns nil (nothing started) when the executor bounds its
// fan-out (Parallel > 0): the transfers would compete for the slots of the staging steps waiting on them.
func (e *Executor) startTransfers(ctx context.Context, p *Plan) *transfers {
	if e.Parallel > 0 || p == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &transfers{cancel: cancel, published: make(chan struct{}), hosts: map[string]*transfer{}}
	if p.Staging == StagingPull {
		t.storeN, t.storeErr = 0, nil
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer close(t.published)
			t.storeN, t.storeErr = e.publish(ctx, p)
		}()
	} else {
		close(t.published)
	}
	for _, hs := range p.Stage {
		h, ok := p.Host(hs.Host)
		if !ok {
			continue // Execute reports it
		}
		for _, s := range hs.Steps {
			if s.Kind != StepUpload && s.Kind != StepFetch {
				continue
			}
			tr := &transfer{done: make(chan struct{})}
			t.hosts[h.Name] = tr
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				defer close(tr.done)
				tr.n, tr.err = e.transferNow(ctx, t, p, h, s)
			}()
		}
	}
	return t
}

// transferNow carries out one transfer step (a fetch waits for the publish first).
func (e *Executor) transferNow(ctx context.Context, t *transfers, p *Plan, h inventory.Host, s Step) (int64, error) {
	if s.Kind == StepUpload {
		return e.upload(ctx, p, h, *s.Upload)
	}
	if t != nil {
		select {
		case <-t.published:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if t.storeErr != nil {
			return 0, t.storeErr
		}
	}
	return 0, e.fetch(ctx, h, *s.Fetch)
}

// wait returns h's transfer result, once it is done (ok false: none was started for h).
func (t *transfers) wait(ctx context.Context, host string) (int64, bool, error) {
	if t == nil {
		return 0, false, nil
	}
	tr, ok := t.hosts[host]
	if !ok {
		return 0, false, nil
	}
	select {
	case <-tr.done:
		return tr.n, true, tr.err
	case <-ctx.Done():
		return 0, true, ctx.Err()
	}
}

// waitPublished returns the store upload's result (pull staging).
func (t *transfers) waitPublished(ctx context.Context) (int64, error) {
	select {
	case <-t.published:
		return t.storeN, t.storeErr
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stop cancels what is still running and waits for it.
func (t *transfers) stop() {
	if t == nil {
		return
	}
	t.cancel()
	t.wg.Wait()
}
