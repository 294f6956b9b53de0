package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Session runs plans under the stack's deploy lock and records them in the audit log: lock, audit
// "started", execute each plan in order (stopping at the first failure), audit the result, unlock.
type Session struct {
	State   State
	Exec    *Executor
	Holder  string // who: user@machine
	Message string
	Action  string // deploy or rollback
	Now     func() time.Time
	// Escrow names where each release's artifact is kept, by sha256: recorded in its audit records.
	Escrow map[string]EscrowRef
}

// Run executes plans (all of one stack). The lock is released even when a plan fails. Taking the lock
// and writing the first "started" record is one command on the bastion, as are the last record and the
// unlock; the first plan's artifact transfers run while the lock is taken (see transfers).
func (s *Session) Run(ctx context.Context, plans []*Plan) ([]*Outcome, error) {
	if len(plans) == 0 {
		return nil, errors.New("nothing to deploy")
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	action := s.Action
	if action == "" {
		action = "deploy"
	}
	first := plans[0]
	id := newID()
	info := LockInfo{ID: id, Holder: s.Holder, Stack: first.Stack, Tier: first.Tier, Version: first.Version,
		Action: action, Message: s.Message, Time: now().UTC()}
	started := func(p *Plan) AuditRecord {
		rec := AuditRecord{Time: now().UTC(), ID: id, Holder: s.Holder, Stack: p.Stack, Tier: p.Tier, Action: action,
			Version: p.Version, SHA256: p.SHA256, Result: "started", Message: s.Message}
		if ref, ok := s.Escrow[p.SHA256]; ok && p.SHA256 != "" {
			rec.Escrow = &ref
		}
		for _, h := range p.Hosts {
			rec.Hosts = append(rec.Hosts, h.Name)
		}
		return rec
	}
	defer s.connect(ctx, plans)()
	tr := s.Exec.startTransfers(ctx, first)
	defer tr.stop()
	// Whatever happens, record and unlock with a context that outlives cancellation.
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	s.emit(first, Event{Phase: PhaseLock, Status: StatusStart, Message: "bastion " + s.State.Host.Name})
	if err := s.State.AcquireAudit(ctx, info, started(first)); err != nil {
		tr.stop()
		s.emit(first, Event{Phase: PhaseLock, Status: StatusFail, Message: err.Error()})
		var le *LockedError
		if !errors.As(err, &le) {
			// The lock may be ours with the audit record missing (no audit record, no deploy): free it.
			uctx, cancel := bg()
			defer cancel()
			if uerr := s.State.Release(uctx, first.Stack, id); uerr != nil {
				err = errors.Join(err, fmt.Errorf("unlock: %w", uerr))
			}
		}
		return nil, err
	}
	s.emit(first, Event{Phase: PhaseLock, Status: StatusOK, Message: "held by " + s.Holder})
	// The last record and the unlock wait, started, for the end (their context outlives cancellation).
	pctx, pcancel := bg()
	defer pcancel()
	last := s.State.prepareAuditRelease(pctx, first.Stack, id)
	defer func() {
		if last != nil {
			last.Cancel()
		}
	}()
	var outs []*Outcome
	var runErr error
	var final *AuditRecord // the last record, written with the unlock
	for i, p := range plans {
		rec := started(p)
		if i > 0 {
			if err := s.State.Audit(ctx, rec); err != nil {
				runErr = fmt.Errorf("audit: %w", err) // no audit record, no deploy
				break
			}
		}
		var t *transfers
		if i == 0 {
			t = tr
		}
		out, err := s.Exec.execute(ctx, p, t)
		outs = append(outs, out)
		rec.Time, rec.Result = now().UTC(), "succeeded"
		if out != nil {
			rec.BytesSent, rec.ElapsedMs = out.BytesSent, time.Duration(out.Elapsed).Milliseconds()
		}
		if err != nil {
			rec.Result, rec.Error = "failed", err.Error()
		}
		if err != nil || i == len(plans)-1 {
			final, runErr = &rec, err
			break
		}
		actx, cancel := bg()
		aerr := s.State.Audit(actx, rec)
		cancel()
		if aerr != nil {
			runErr = fmt.Errorf("audit: %w", aerr)
			break
		}
	}
	uctx, cancel := bg()
	defer cancel()
	if final != nil {
		pre := last
		last = nil
		if err := s.State.auditRelease(uctx, *final, first.Stack, id, pre); err != nil {
			var le *LockedError
			if errors.As(err, &le) {
				return outs, errors.Join(runErr, fmt.Errorf("unlock: %w", err))
			}
			// The record did not make it: say so, and still try to unlock.
			runErr = errors.Join(runErr, fmt.Errorf("audit: %w", err))
		} else {
			return outs, runErr
		}
	}
	if err := s.State.Release(uctx, first.Stack, id); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("unlock: %w", err))
	}
	return outs, runErr
}

// connect opens the runner's connections to every host of plans in the background (ConnectAhead; dials
// share the executor's Parallel slots), so that handshakes overlap taking the lock. The returned func
// cancels what is still dialing and waits for it.
func (s *Session) connect(ctx context.Context, plans []*Plan) func() {
	var hosts []inventory.Host
	for _, p := range plans {
		hosts = append(hosts, p.Hosts...)
	}
	return connectAhead(ctx, s.Exec.Runner, hosts, s.Exec.acquireCtx)
}

// ConnectAhead opens r's connections to hosts in the background when r is a Connector, at most parallel
// at once (0: all), so that the handshakes overlap what the caller does next: hashing the artifact,
// planning, taking the lock. A deploy's steps reuse them (a step on a host still dialing waits for that
// dial). Errors are left to the first step on the host, which dials again. The returned func cancels what
// is still dialing and waits for it: call it once the work that uses the connections is done.
func ConnectAhead(ctx context.Context, r Runner, hosts []inventory.Host, parallel int) func() {
	var slots chan struct{}
	if parallel > 0 {
		slots = make(chan struct{}, parallel)
	}
	acquire := func(ctx context.Context) (func(), bool) {
		if slots == nil {
			return func() {}, true
		}
		select {
		case slots <- struct{}{}:
			return func() { <-slots }, true
		case <-ctx.Done():
			return func() {}, false
		}
	}
	return connectAhead(ctx, r, hosts, acquire)
}

func connectAhead(ctx context.Context, r Runner, hosts []inventory.Host, acquire func(context.Context) (func(), bool)) func() {
	c, ok := r.(Connector)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h.Name] {
			continue
		}
		seen[h.Name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, ok := acquire(ctx)
			defer release()
			if ok {
				_ = c.Connect(ctx, h)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func (s *Session) emit(p *Plan, ev Event) {
	if s.Exec != nil {
		s.Exec.emit(p, ev)
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
