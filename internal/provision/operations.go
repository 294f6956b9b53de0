package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// PreviewOptions are the options of Preview.
type PreviewOptions struct {
	// SavePlan writes the plan to this file for a later `up --plan`.
	SavePlan string
}

// Preview shows what up would do.
func (e *Engine) Preview(ctx context.Context, po PreviewOptions) (Result, error) {
	start := time.Now()
	ch, wait := e.stream(false, nil)
	opts := []optpreview.Option{optpreview.EventStreams(ch)}
	if len(e.opts.PolicyPacks) > 0 {
		opts = append(opts, optpreview.PolicyPacks(e.opts.PolicyPacks...))
	}
	if e.opts.Parallel > 0 {
		opts = append(opts, optpreview.Parallel(e.opts.Parallel))
	}
	var plan string
	if po.SavePlan != "" {
		abs, err := filepath.Abs(po.SavePlan)
		if err != nil {
			return Result{}, fmt.Errorf("save plan %s: %w", po.SavePlan, err)
		}
		plan = abs
		opts = append(opts, optpreview.Plan(plan))
	}
	res, err := e.stack.Preview(ctx, opts...)
	wait()
	if err != nil {
		return Result{}, classify(fmt.Sprintf("stack %s: preview", e.opts.Stack), err)
	}
	out := Result{Stack: e.opts.Stack, Operation: "preview", Changes: changes(res.ChangeSummary),
		Seconds: time.Since(start).Seconds()}
	if plan != "" {
		sum, err := fileSHA256(plan)
		if err != nil {
			return Result{}, fmt.Errorf("stack %s: saved plan: %w", e.opts.Stack, err)
		}
		out.PlanFile, out.PlanSHA256 = plan, sum
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// UpOptions are the options of Up.
type UpOptions struct {
	// Plan applies exactly this saved plan; the engine refuses any step the plan does not allow.
	Plan string
	// OverridePromotion, when not empty, is the reason for applying despite the promotion gate. It is
	// recorded on the stack and emitted as an audit event.
	OverridePromotion string
	// Operator names who runs the up (recorded with an override).
	Operator string
}

// Up applies the program to the stack.
func (e *Engine) Up(ctx context.Context, uo UpOptions) (Result, error) {
	start := time.Now()
	rev := e.opts.Revision
	out := Result{Stack: e.opts.Stack, Operation: "up", Revision: &rev}
	if err := e.gate(ctx, uo, &out); err != nil {
		return out, err
	}
	ch, wait := e.stream(false, nil)
	opts := []optup.Option{optup.EventStreams(ch)}
	if len(e.opts.PolicyPacks) > 0 {
		opts = append(opts, optup.PolicyPacks(e.opts.PolicyPacks...))
	}
	if e.opts.Parallel > 0 {
		opts = append(opts, optup.Parallel(e.opts.Parallel))
	}
	if uo.Plan != "" {
		abs, err := filepath.Abs(uo.Plan)
		if err != nil {
			return out, fmt.Errorf("plan %s: %w", uo.Plan, err)
		}
		sum, err := fileSHA256(abs)
		if err != nil {
			return out, fmt.Errorf("stack %s: %w: %w", e.opts.Stack, ErrPlanRefused, err)
		}
		out.PlanFile, out.PlanSHA256 = abs, sum
		opts = append(opts, optup.Plan(abs))
	}
	res, err := e.stack.Up(ctx, opts...)
	wait()
	if err != nil {
		return out, classify(fmt.Sprintf("stack %s: up", e.opts.Stack), err)
	}
	out.Changes = changesOf(res.Summary.ResourceChanges)
	if err := e.recordRevision(ctx, out); err != nil {
		return out, err
	}
	if err := e.resumeLive(ctx); err != nil {
		return out, err
	}
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// gate applies the promotion gate: the stack this one is promoted from must have applied the same revision.
func (e *Engine) gate(ctx context.Context, uo UpOptions, out *Result) error {
	from := e.opts.Promotion[e.opts.Stack]
	if from == "" {
		return nil
	}
	tags, err := e.tagsOf(ctx, from)
	if err != nil {
		return err
	}
	gateErr := CheckPromotion(e.opts.Stack, from, e.opts.Revision, tags)
	if gateErr == nil {
		return nil
	}
	if uo.OverridePromotion == "" {
		return gateErr
	}
	operator := uo.Operator
	if operator == "" {
		operator = "unknown"
	}
	out.Override = fmt.Sprintf("%s by %s at %s: %s", strings.TrimPrefix(gateErr.Error(), ErrPromotionRefused.Error()+": "),
		operator, time.Now().UTC().Format(time.RFC3339), uo.OverridePromotion)
	e.emit(Event{Kind: EventAudit, Severity: "warning", Message: "promotion gate overridden: " + out.Override})
	return nil
}

// Refresh reads every resource from the cloud and updates the state to match.
func (e *Engine) Refresh(ctx context.Context) (Result, error) {
	start := time.Now()
	ch, wait := e.stream(true, nil)
	res, err := e.stack.Refresh(ctx, optrefresh.EventStreams(ch))
	wait()
	if err != nil {
		return Result{}, classify(fmt.Sprintf("stack %s: refresh", e.opts.Stack), err)
	}
	return Result{Stack: e.opts.Stack, Operation: "refresh", Changes: changesOf(res.Summary.ResourceChanges),
		Seconds: time.Since(start).Seconds()}, nil
}

// Destroy deletes every resource of the stack.
func (e *Engine) Destroy(ctx context.Context) (Result, error) {
	start := time.Now()
	ch, wait := e.stream(false, nil)
	res, err := e.stack.Destroy(ctx, optdestroy.EventStreams(ch))
	wait()
	if err != nil {
		return Result{}, classify(fmt.Sprintf("stack %s: destroy", e.opts.Stack), err)
	}
	return Result{Stack: e.opts.Stack, Operation: "destroy", Changes: changesOf(res.Summary.ResourceChanges),
		Seconds: time.Since(start).Seconds()}, nil
}

func changes[K ~string](m map[K]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

func changesOf(m *map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return *m
}
