package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// Engine is an opened stack: the workspace, the stack's lock, and (with --cloud local) the local cloud.
type Engine struct {
	opts    Options
	workDir string
	ws      auto.Workspace
	stack   auto.Stack
	cloud   *localcloud.Cloud
	unlock  func()
	// tags are the stack's tags when opened (nil for a read-only open).
	tags map[string]string
}

// Result is what an operation did.
type Result struct {
	Stack      string         `json:"stack"`
	Operation  string         `json:"operation"`
	Changes    map[string]int `json:"changes"`
	Seconds    float64        `json:"seconds"`
	PlanFile   string         `json:"planFile,omitempty"`
	PlanSHA256 string         `json:"planSha256,omitempty"`
	Revision   *Revision      `json:"revision,omitempty"`
	Override   string         `json:"promotionOverride,omitempty"`
}

// Open prepares stack for engine operations: takes plinth's per-stack lock, starts the local cloud when asked,
// creates or selects the stack in the backend and writes its config into the work dir.
func Open(ctx context.Context, o Options) (*Engine, error) {
	return open(ctx, o, false)
}

// ReadOutputs returns the outputs of an existing stack without locking it or starting anything; a stack that
// does not exist is ErrNoStack.
func ReadOutputs(ctx context.Context, o Options) (map[string]any, error) {
	if o.Program == nil {
		o.Program = func(*pulumi.Context) error { return nil }
	}
	e, err := open(ctx, o, true)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Outputs(ctx)
}

func open(ctx context.Context, o Options, readOnly bool) (*Engine, error) {
	opts, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Program == nil {
		return nil, errors.New("provision: no program")
	}
	if readOnly {
		opts.Cloud = CloudAWS
	}
	if err := os.MkdirAll(opts.Home, 0o700); err != nil {
		return nil, fmt.Errorf("plinth home %s: %w", opts.Home, err)
	}
	if dir := fileBackendDir(opts.Backend); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("backend %s: %w", opts.Backend, err)
		}
	}
	e := &Engine{opts: opts}
	if !readOnly {
		if e.unlock, err = lockStack(opts); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	pulumiPath := opts.PulumiCommand
	if pulumiPath == "" {
		if pulumiPath, err = FindPulumi(opts.Getenv, ""); err != nil {
			return nil, err
		}
	}
	cmd, err := pulumiCommand(opts.Home, pulumiPath)
	if err != nil {
		return nil, err
	}

	env := map[string]string{
		"PULUMI_BACKEND_URL":       opts.Backend,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	pp, err := passphraseEnv(opts)
	if err != nil {
		return nil, err
	}
	for k, v := range pp {
		env[k] = v
	}
	if opts.Cloud == CloudLocal {
		if e.cloud, err = localcloud.Start(opts.LocalCloudDir); err != nil {
			return nil, err
		}
		env["PULUMI_DEBUG_PROVIDERS"] = e.cloud.DebugProviders()
		env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	}

	e.workDir = filepath.Join(opts.Home, "work", backendKey(opts.Backend))
	if err := os.MkdirAll(e.workDir, 0o700); err != nil {
		return nil, fmt.Errorf("work dir %s: %w", e.workDir, err)
	}
	secrets := opts.SecretsProvider
	if secrets == "" {
		secrets = "passphrase"
	}
	wsOpts := []auto.LocalWorkspaceOption{
		auto.WorkDir(e.workDir),
		auto.Project(workspace.Project{Name: ProjectName, Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.EnvVars(env),
		auto.Pulumi(cmd),
		auto.SecretsProvider(secrets),
	}
	if opts.PulumiHome != "" {
		wsOpts = append(wsOpts, auto.PulumiHome(opts.PulumiHome))
	}
	var stack auto.Stack
	if readOnly {
		stack, err = auto.SelectStackInlineSource(ctx, opts.Stack, ProjectName, opts.Program, wsOpts...)
		if err != nil && (auto.IsSelectStack404Error(err) || strings.Contains(err.Error(), "no stack named")) {
			return nil, fmt.Errorf("stack %s: %w in %s", opts.Stack, ErrNoStack, opts.Backend)
		}
	} else {
		stack, err = auto.UpsertStackInlineSource(ctx, opts.Stack, ProjectName, opts.Program, wsOpts...)
	}
	if err != nil {
		return nil, classify(fmt.Sprintf("stack %s: open", opts.Stack), err)
	}
	e.stack, e.ws = stack, stack.Workspace()
	if !readOnly {
		if err := writeStackSettings(e.workDir, opts.Stack, opts.StackConfig); err != nil {
			return nil, fmt.Errorf("stack %s: %w", opts.Stack, err)
		}
		// A stack lives in one cloud: the local cloud's ids mean nothing to AWS, and the reverse.
		if e.tags, err = e.tagsOf(ctx, opts.Stack); err != nil {
			return nil, err
		}
		if was := e.tags[TagCloud]; was != "" && was != opts.Cloud {
			return nil, fmt.Errorf("stack %s: %w: it was provisioned with --cloud %s, this run has --cloud %s",
				opts.Stack, ErrCloudMismatch, was, opts.Cloud)
		}
	}
	ok = true
	return e, nil
}

// Close releases the lock and stops the local cloud.
func (e *Engine) Close() {
	if e.cloud != nil {
		e.cloud.Close()
		e.cloud = nil
	}
	if e.unlock != nil {
		e.unlock()
		e.unlock = nil
	}
}

// LocalCloud is the running local cloud (nil unless Cloud is CloudLocal).
func (e *Engine) LocalCloud() *localcloud.Cloud { return e.cloud }

// lockStack takes plinth's own lock on (backend, stack) so a second plinth on this machine is refused at once,
// before the engine starts; the engine's lock on the backend covers other machines.
func lockStack(o Options) (func(), error) {
	dir := filepath.Join(o.Home, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, backendKey(o.Backend)+"-"+o.Stack+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 200))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("stack %s: %w (%s)", o.Stack, ErrLocked, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// pulumiCommand wraps the CLI binary at path. The Automation API wants <root>/bin/pulumi; a binary elsewhere
// is linked into <home>/pulumi-root/bin.
func pulumiCommand(home, path string) (auto.PulumiCommand, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("pulumi %s: %w", path, err)
	}
	root := filepath.Dir(filepath.Dir(abs))
	if filepath.Base(filepath.Dir(abs)) != "bin" || filepath.Base(abs) != "pulumi" {
		root = filepath.Join(home, "pulumi-root")
		link := filepath.Join(root, "bin", "pulumi")
		if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
			return nil, fmt.Errorf("pulumi %s: %w", path, err)
		}
		_ = os.Remove(link)
		if err := os.Symlink(abs, link); err != nil {
			return nil, fmt.Errorf("pulumi %s: %w", path, err)
		}
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("pulumi %s: %w", path, err)
	}
	return cmd, nil
}

// stream returns an engine event channel forwarding to OnEvent, and a wait function to call after the
// operation (the Automation API closes the channel when the engine's event log ends).
func (e *Engine) stream(refreshing bool) (chan events.EngineEvent, func()) {
	ch := make(chan events.EngineEvent, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			if e.opts.OnEvent == nil || ev.Error != nil {
				continue
			}
			if out, ok := convert(ev, time.Now()); ok {
				e.opts.OnEvent(refreshed(out, refreshing))
			}
		}
	}()
	return ch, func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
}

func (e *Engine) emit(ev Event) {
	if e.opts.OnEvent != nil {
		ev.Time = time.Now()
		e.opts.OnEvent(ev)
	}
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

// PreviewOptions are the options of Preview.
type PreviewOptions struct {
	// SavePlan writes the plan to this file for a later `up --plan`.
	SavePlan string
}

// Preview shows what up would do.
func (e *Engine) Preview(ctx context.Context, po PreviewOptions) (Result, error) {
	start := time.Now()
	ch, wait := e.stream(false)
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
	ch, wait := e.stream(false)
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

// tagsOf returns the tags of stack, or nil when it does not exist.
func (e *Engine) tagsOf(ctx context.Context, stack string) (map[string]string, error) {
	tags, err := e.ws.ListTags(ctx, stack)
	if err != nil {
		msg := err.Error()
		if auto.IsSelectStack404Error(err) || strings.Contains(msg, "no stack named") || strings.Contains(msg, "not found") {
			return nil, nil
		}
		return nil, classify(fmt.Sprintf("stack %s: read tags", stack), err)
	}
	return tags, nil
}

// recordRevision tags the stack with what was applied: commit, config hash, plan sha256, cloud, override.
func (e *Engine) recordRevision(ctx context.Context, r Result) error {
	set := map[string]string{
		TagCommit:     e.opts.Revision.commitTag(),
		TagConfigHash: e.opts.Revision.ConfigHash,
		TagCloud:      e.opts.Cloud,
	}
	if r.PlanSHA256 != "" {
		set[TagPlanSHA256] = r.PlanSHA256
	} else {
		set[TagPlanSHA256] = "none"
	}
	if r.Override != "" {
		set[TagOverride] = r.Override
	} else {
		set[TagOverride] = "none"
	}
	// Each tag write is a CLI run: write only what changed.
	have := e.tags
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := set[k]
		if v == "" {
			v = "none"
		}
		if have[k] == v {
			continue
		}
		if err := e.stack.SetTag(ctx, k, v); err != nil {
			return classify(fmt.Sprintf("stack %s: record tag %s", e.opts.Stack, k), err)
		}
		if e.tags == nil {
			e.tags = map[string]string{}
		}
		e.tags[k] = v
	}
	if r.PlanSHA256 != "" {
		e.emit(Event{Kind: EventAudit, Severity: "info", Message: "applied plan sha256 " + r.PlanSHA256})
	}
	return nil
}

// Tags returns the stack's tags.
func (e *Engine) Tags(ctx context.Context) (map[string]string, error) {
	return e.tagsOf(ctx, e.opts.Stack)
}

// Refresh reads every resource from the cloud and updates the state to match.
func (e *Engine) Refresh(ctx context.Context) (Result, error) {
	start := time.Now()
	ch, wait := e.stream(true)
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
	ch, wait := e.stream(false)
	res, err := e.stack.Destroy(ctx, optdestroy.EventStreams(ch))
	wait()
	if err != nil {
		return Result{}, classify(fmt.Sprintf("stack %s: destroy", e.opts.Stack), err)
	}
	return Result{Stack: e.opts.Stack, Operation: "destroy", Changes: changesOf(res.Summary.ResourceChanges),
		Seconds: time.Since(start).Seconds()}, nil
}

// DriftedResource is a resource whose cloud state differs from the stack's state.
type DriftedResource struct {
	URN   string   `json:"urn"`
	Type  string   `json:"type"`
	Name  string   `json:"name"`
	Op    string   `json:"op"`
	Diffs []string `json:"diffs,omitempty"`
}

// DriftReport is the result of Drift.
type DriftReport struct {
	Stack    string            `json:"stack"`
	Drifted  []DriftedResource `json:"drifted"`
	Checked  int               `json:"checked"`
	Seconds  float64           `json:"seconds"`
	HasDrift bool              `json:"hasDrift"`
}

// Drift runs a read-only refresh preview and lists the resources whose cloud state has drifted.
func (e *Engine) Drift(ctx context.Context) (DriftReport, error) {
	start := time.Now()
	ch := make(chan events.EngineEvent, 256)
	done := make(chan struct{})
	rep := DriftReport{Stack: e.opts.Stack, Drifted: []DriftedResource{}}
	seen := map[string]bool{}
	go func() {
		defer close(done)
		for ev := range ch {
			if ev.Error != nil {
				continue
			}
			if e.opts.OnEvent != nil {
				if out, ok := convert(ev, time.Now()); ok {
					e.opts.OnEvent(refreshed(out, true))
				}
			}
			var m *apitype.StepEventMetadata
			switch {
			case ev.ResourcePreEvent != nil:
				m = &ev.ResourcePreEvent.Metadata
			case ev.ResOutputsEvent != nil:
				m = &ev.ResOutputsEvent.Metadata
			}
			if m == nil || strings.HasPrefix(m.Type, "pulumi:") {
				continue
			}
			if !seen[m.URN] {
				seen[m.URN] = true
				rep.Checked++
			}
			if ev.ResOutputsEvent == nil {
				continue
			}
			if d, ok := drifted(m.Op, m.Diffs, len(m.DetailedDiff) > 0); ok {
				rep.Drifted = append(rep.Drifted, DriftedResource{URN: m.URN, Type: m.Type, Name: urnName(m.URN),
					Op: d, Diffs: m.Diffs})
			}
		}
	}()
	_, err := e.stack.PreviewRefresh(ctx, optrefresh.EventStreams(ch))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if err != nil {
		return rep, classify(fmt.Sprintf("stack %s: drift", e.opts.Stack), err)
	}
	sort.Slice(rep.Drifted, func(i, j int) bool { return rep.Drifted[i].URN < rep.Drifted[j].URN })
	rep.HasDrift = len(rep.Drifted) > 0
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// drifted says whether a refresh step shows drift, and how.
func drifted[O ~string](op O, diffs []string, detailed bool) (string, bool) {
	switch string(op) {
	case "same", "read", "":
		return "", false
	case "refresh":
		if len(diffs) > 0 || detailed {
			return "update", true
		}
		return "", false
	case "delete", "read-discard", "discard":
		return "delete", true
	}
	return string(op), true
}

// Outputs returns the stack's outputs (secrets included, as plain values).
func (e *Engine) Outputs(ctx context.Context) (map[string]any, error) {
	outs, err := e.stack.Outputs(ctx)
	if err != nil {
		return nil, classify(fmt.Sprintf("stack %s: outputs", e.opts.Stack), err)
	}
	m := make(map[string]any, len(outs))
	for k, v := range outs {
		m[k] = v.Value
	}
	return m, nil
}

// classify turns an Automation API error into a short error wrapping plinth's sentinels.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := engineMessage(err)
	lower := strings.ToLower(msg)
	switch {
	case auto.IsConcurrentUpdateError(err) || strings.Contains(lower, "currently locked") ||
		strings.Contains(lower, "conflict: another update"):
		return fmt.Errorf("%s: %w: %s", what, ErrLocked, msg)
	case strings.Contains(lower, "plan") && (strings.Contains(lower, "violat") || strings.Contains(lower, "not allowed") ||
		strings.Contains(lower, "mismatch") || strings.Contains(lower, "changed") || strings.Contains(lower, "expected")):
		return fmt.Errorf("%s: %w: the saved plan no longer matches the program or config: %s", what, ErrPlanRefused, msg)
	case strings.Contains(lower, "deserializ") || strings.Contains(lower, "invalid character") ||
		strings.Contains(lower, "unexpected end of json") || strings.Contains(lower, "could not read") ||
		strings.Contains(lower, "corrupt"):
		return fmt.Errorf("%s: %w (left untouched): %s", what, ErrCorruptState, msg)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// engineMessage extracts the "error:" lines of the CLI's stderr from an Automation API error.
func engineMessage(err error) string {
	full := stripANSI(err.Error())
	var lines []string
	inError := false
	for _, raw := range strings.Split(full, "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "stderr:"))
		if m, ok := strings.CutPrefix(l, "error: "); ok && m != "" {
			inError = !contains(lines, m)
			if inError {
				lines = append(lines, m)
			}
			continue
		}
		// Indented lines right after an error continue it (e.g. who holds a lock).
		if inError && l != "" && (strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t")) {
			lines[len(lines)-1] += "; " + l
			continue
		}
		inError = false
	}
	if len(lines) == 0 {
		first, _, _ := strings.Cut(full, "\n")
		return first
	}
	return strings.Join(lines, "; ")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
