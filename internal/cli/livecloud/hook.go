package livecloud

import (
	"context"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

// hook is the localcloud.Hook `--cloud local` engine commands attach when the live cloud is on: it starts
// the server on demand and forwards each change to it. After a delete that leaves the server holding no host
// and no process in any stack (the end of a destroy), it stops the server, so nothing live is left behind; a
// delete while no server runs has nothing live to remove; the delete of a VPC then drops what the stack kept
// for a restart (its allocation and hosts' directories: a destroy after `plinth local stop`).
type hook struct {
	cloud         *Cloud
	localCloudDir string

	mu sync.Mutex
}

func (h *hook) Apply(ctx context.Context, ch localcloud.Change) (map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch.Op == localcloud.OpDelete {
		if !h.cloud.running(ctx) {
			// Nothing runs (after `plinth local stop`): nothing live to remove, but what was kept for a
			// restart no longer matches the records.
			if live.EndsPlatform(ch.Type) {
				if err := h.cloud.forget(ch.Stack); err != nil {
					return nil, err
				}
			}
			return ch.Outputs, nil
		}
	} else if err := h.cloud.Ensure(ctx, h.localCloudDir); err != nil {
		return nil, err
	}
	c := h.cloud.client()
	out, err := c.Apply(ctx, ch)
	if err != nil || ch.Op != localcloud.OpDelete {
		return out, err
	}
	if err := h.stopIfEmpty(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// stopIfEmpty stops the server when it holds no host and no process in any stack.
func (h *hook) stopIfEmpty(ctx context.Context) error {
	rep, err := h.cloud.client().Status(ctx)
	if err != nil || !empty(rep) {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, err = h.cloud.Stop(sctx)
	return err
}

// Resume is called after an `up` (provision.LocalCloudResumer): an up that changed nothing the live cloud
// plays still brings a stopped platform back (after `plinth local stop`), from the stack's records and
// allocation. A stack with nothing live leaves no server running.
func (h *hook) Resume(ctx context.Context, stack string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.cloud.Ensure(ctx, h.localCloudDir); err != nil {
		return err
	}
	if _, err := h.cloud.client().Resume(ctx, stack); err != nil {
		return err
	}
	return h.stopIfEmpty(ctx)
}

// empty reports that no stack has a host or a process.
func empty(rep live.StatusReport) bool {
	for _, s := range rep.Stacks {
		if len(s.Hosts) > 0 || len(s.Processes) > 0 {
			return false
		}
	}
	return true
}
