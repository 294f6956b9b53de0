package drill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrUnavailable marks a step the stack's cloud cannot provide yet: the drill fails it, naming what is
// missing, and still tears down.
var ErrUnavailable = errors.New("not available on this stack's cloud")

// T0 is the simulated disaster instant: the last heartbeat written to the primary and the primary's GTID
// position right after it.
type T0 struct {
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	GTID string    `json:"gtid"`
}

// Recovered is what the data step produced: where the drill database is and the RPO measured on it.
type Recovered struct {
	// Where names the drill database (host and schema, no credentials).
	Where string
	// Endpoint is the drill database's host:port: the writer endpoint of the drill stack's application.
	Endpoint string
	RPO      RPO
	// Tables is the drill database's tables compared with the source's (nil: not compared).
	Tables *TableMatch
}

// The seams of the drill: one small interface per step kind. The Env a command builds fills those the
// stack's cloud provides; a nil one fails its step with ErrUnavailable.
type (
	Preflighter interface {
		Preflight(ctx context.Context, p Plan) error
	}
	// Heartbeater writes heartbeats to the primary from Start until MarkT0, which stops the writer and
	// returns T0. Stop is idempotent and safe without Start.
	Heartbeater interface {
		Start(ctx context.Context) error
		MarkT0(ctx context.Context) (T0, error)
		Stop()
	}
	DataSource interface {
		Recover(ctx context.Context, p Plan, t0 T0) (Recovered, error)
	}
	PlatformBuilder interface {
		Build(ctx context.Context, p Plan, r Recovered) error
	}
	Deployer interface {
		Deploy(ctx context.Context, p Plan) error
	}
	// Verifier returns the instant of the first successful write through the drill load balancer.
	Verifier interface {
		Verify(ctx context.Context, p Plan) (time.Time, error)
	}
	// TearDowner removes what it created for drill id, idempotently from any state, and lists (by tag)
	// what remains.
	TearDowner interface {
		Teardown(ctx context.Context, id string) (left []string, err error)
	}
	HistoryWriter interface {
		Append(ctx context.Context, r Report) error
	}
)

// Env is what the executor runs the plan with.
type Env struct {
	Preflight Preflighter
	Heartbeat Heartbeater
	Data      DataSource
	Platform  PlatformBuilder
	Deploy    Deployer
	Verify    Verifier
	// Teardown runs in reverse order (the platform before the database that served it).
	Teardown []TearDowner
	History  HistoryWriter
	Now      func() time.Time
	Log      func(format string, args ...any)
	// TeardownTimeout bounds teardown after a cancelled drill (default 10 minutes).
	TeardownTimeout time.Duration
}

// missing says what a step needs when the stack's cloud cannot provide it.
func missing(step string) string {
	switch step {
	case StepPreflight:
		return "a preflight (production health, DR replica lag, newest verified backup, deploy audit)"
	case StepT0:
		return "a heartbeat writer on production's primary database"
	case StepData:
		return "a drill database source (DR replica promotion or a vault restore target in the DR region)"
	case StepPlatform:
		return "a drill-stack builder in the DR region (tiers, load balancer, bastion through the plinth up engine)"
	case StepDeploy:
		return "a deploy of production's release to the drill stack (artifact escrow readable from the DR region)"
	case StepVerify:
		return "an HTTPS health and write check through the drill load balancer"
	}
	return step
}

func unavailable(step string) error {
	return fmt.Errorf("%s: %w", missing(step), ErrUnavailable)
}

type run struct {
	p   Plan
	env Env
	rep *Report
	t0  T0
	rec Recovered
}

// Run executes the plan: each step in order and timed; after the first failure (or cancel) the remaining
// steps are skipped but teardown still runs (unless --keep), and the report is always returned. The
// error is the first step's failure (or context cancellation).
func Run(ctx context.Context, p Plan, env Env) (*Report, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Log == nil {
		env.Log = func(string, ...any) {}
	}
	r := &run{p: p, env: env, rep: &Report{ID: p.ID, Stack: p.Stack, Source: p.Source, BackupID: p.BackupID,
		StartedAt: env.Now().UTC(), RTOTarget: p.RTO, RPOTarget: p.RPO,
		RTOTargetSeconds: p.RTOTarget.Seconds(), RPOTargetSeconds: p.RPOTarget.Seconds()}}
	if env.Heartbeat != nil {
		defer env.Heartbeat.Stop()
	}
	var firstErr error
	for _, st := range p.Steps {
		switch {
		case st.Name == StepTeardown:
			if res := r.teardown(ctx, st); res.Status == StatusFailed && firstErr == nil {
				firstErr = fmt.Errorf("drill %s: step teardown: %s", p.ID, res.Error)
			}
		case firstErr != nil:
			r.rep.Steps = append(r.rep.Steps, StepResult{Name: st.Name, Status: StatusSkipped})
		default:
			if err := ctx.Err(); err != nil {
				firstErr = fmt.Errorf("drill %s: before %s: %w", p.ID, st.Name, err)
				r.rep.Steps = append(r.rep.Steps, StepResult{Name: st.Name, Status: StatusSkipped, Error: err.Error()})
				continue
			}
			if err := r.step(ctx, st.Name); err != nil {
				firstErr = fmt.Errorf("drill %s: step %s: %w", p.ID, st.Name, err)
			}
		}
	}
	if firstErr != nil {
		r.rep.judge(p, true)
	}
	return r.rep, firstErr
}

func (r *run) step(ctx context.Context, name string) error {
	start := r.env.Now()
	r.env.Log("drill %s: %s ...", r.p.ID, name)
	err := r.do(ctx, name)
	res := StepResult{Name: name, Seconds: roundSeconds(r.env.Now().Sub(start)), Status: StatusOK}
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
		r.env.Log("drill %s: %s failed after %.1fs: %v", r.p.ID, name, res.Seconds, err)
	}
	r.rep.Steps = append(r.rep.Steps, res)
	return err
}

func (r *run) do(ctx context.Context, name string) error {
	e := r.env
	switch name {
	case StepPreflight:
		if e.Preflight == nil {
			return unavailable(name)
		}
		err := e.Preflight.Preflight(ctx, r.p)
		if rp, ok := e.Preflight.(interface{ Reported() []Release }); ok {
			r.rep.Releases = rp.Reported()
		}
		return err
	case StepT0:
		if e.Heartbeat == nil {
			return unavailable(name)
		}
		if err := e.Heartbeat.Start(ctx); err != nil {
			return err
		}
		t0, err := e.Heartbeat.MarkT0(ctx)
		r.t0 = t0
		return err
	case StepData:
		if e.Data == nil {
			return unavailable(name)
		}
		rec, err := e.Data.Recover(ctx, r.p, r.t0)
		if err != nil {
			return err
		}
		r.rec = rec
		r.rep.Tables = rec.Tables
		rpo := rec.RPO
		r.rep.RPO, r.rep.RPOSeconds = &rpo, seconds(rpo.Loss)
		return nil
	case StepPlatform:
		if e.Platform == nil {
			return unavailable(name)
		}
		return e.Platform.Build(ctx, r.p, r.rec)
	case StepDeploy:
		if e.Deploy == nil {
			return unavailable(name)
		}
		return e.Deploy.Deploy(ctx, r.p)
	case StepVerify:
		if e.Verify == nil {
			return unavailable(name)
		}
		at, err := e.Verify.Verify(ctx, r.p)
		if rv, ok := e.Verify.(interface{ Reported() *VerifyResult }); ok {
			r.rep.Verify = rv.Reported()
		}
		if err != nil {
			return err
		}
		r.rep.RTOSeconds = seconds(at.Sub(r.t0.At))
		return nil
	case StepReport:
		r.rep.judge(r.p, false)
		return nil
	}
	return fmt.Errorf("unknown step %q", name)
}

// teardown runs every TearDowner (also after a failure or cancel, on a context of its own), then sums what
// remains. History is appended afterwards, so the record holds leftBehind.
func (r *run) teardown(ctx context.Context, st Step) StepResult {
	defer r.appendHistory(ctx)
	if st.Skip != "" {
		r.rep.Kept, r.rep.TeardownHint = true, st.Skip
		res := StepResult{Name: st.Name, Status: StatusKept}
		r.rep.Steps = append(r.rep.Steps, res)
		return res
	}
	start := r.env.Now()
	left, err := Teardown(teardownContext(ctx, r.env.TeardownTimeout), r.p.ID, r.env.Teardown)
	res := StepResult{Name: st.Name, Seconds: roundSeconds(r.env.Now().Sub(start)), Status: StatusOK}
	r.rep.LeftBehind, r.rep.LeftBehindList = len(left), left
	if err != nil {
		res.Status, res.Error = StatusFailed, err.Error()
	} else if len(left) > 0 {
		res.Status, res.Error = StatusFailed, fmt.Sprintf("%d drill resources remain after teardown", len(left))
	}
	r.rep.Steps = append(r.rep.Steps, res)
	return res
}

func (r *run) appendHistory(ctx context.Context) {
	if r.env.History == nil {
		return
	}
	if err := r.env.History.Append(teardownContext(ctx, r.env.TeardownTimeout), *r.rep); err != nil {
		r.env.Log("drill %s: history not recorded: %v", r.p.ID, err)
	}
}

func teardownContext(ctx context.Context, d time.Duration) context.Context {
	if ctx.Err() == nil {
		return ctx
	}
	if d <= 0 {
		d = 10 * time.Minute
	}
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	context.AfterFunc(c, cancel)
	return c
}

// Teardown runs every TearDowner for drill id, in reverse order, whatever the others did, and returns what
// remains by tag. It is what `plinth drill teardown ID` runs too.
func Teardown(ctx context.Context, id string, tds []TearDowner) ([]string, error) {
	var left []string
	var errs []error
	for i := len(tds) - 1; i >= 0; i-- {
		l, err := tds[i].Teardown(ctx, id)
		for _, x := range l { // one resource two teardowns list (its own and the leftover check) counts once
			if !slices.Contains(left, x) {
				left = append(left, x)
			}
		}
		if err != nil {
			errs = append(errs, err)
			if l == nil {
				// It could not list what remains: count it as left until a teardown proves otherwise.
				left = append(left, "unknown (could not list): "+err.Error())
			}
		}
	}
	if left == nil {
		left = []string{}
	}
	return left, errors.Join(errs...)
}
