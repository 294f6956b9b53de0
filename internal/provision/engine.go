package provision

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
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
	// liveHooks are the hooks LocalCloudLive attached (Up resumes them: LocalCloudResumer).
	liveHooks []localcloud.Hook
	unlock    func()
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
	return readOnly(ctx, o, (*Engine).Outputs)
}

// ReadTags returns the tags of an existing stack (plinth:cloud among them) the same way.
func ReadTags(ctx context.Context, o Options) (map[string]string, error) {
	return readOnly(ctx, o, (*Engine).Tags)
}

// readOnly opens the stack read-only (no lock, no local cloud, no program), reads what read reads, closes.
func readOnly[T any](ctx context.Context, o Options, read func(*Engine, context.Context) (T, error)) (T, error) {
	if o.Program == nil {
		o.Program = func(*pulumi.Context) error { return nil }
	}
	e, err := open(ctx, o, true)
	if err != nil {
		var zero T
		return zero, err
	}
	defer e.Close()
	return read(e, ctx)
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

	wsOpts, err := e.workspace()
	if err != nil {
		return nil, err
	}
	var stack auto.Stack
	if readOnly {
		stack, err = auto.SelectStackInlineSource(ctx, opts.Stack, ProjectName, opts.Program, wsOpts...)
		if err != nil && isNoStack(err) {
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
