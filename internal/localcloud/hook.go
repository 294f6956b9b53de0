package localcloud

import (
	"context"
	"fmt"
)

// Op is the provider operation a Change reports.
type Op string

// The operations hooks see.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Change is one resource operation the provider is about to record.
type Change struct {
	Op Op
	// Stack is the URN's stack; URN the resource's full URN; Type its type token (aws:ec2/instance:Instance).
	Stack, URN, Type string
	// ID is the resource's provider id.
	ID string
	// Region (aws) or Project (gcp) the resource lives in.
	Region, Project string
	// Inputs are the resource's inputs, Outputs its computed state (plain values; secrets unwrapped).
	Inputs, Outputs map[string]any
}

// Hook is where the live parts of the local cloud attach: see the package documentation.
type Hook interface {
	Apply(ctx context.Context, c Change) (map[string]any, error)
}

// HookFunc adapts a function to Hook.
type HookFunc func(ctx context.Context, c Change) (map[string]any, error)

// Apply calls f.
func (f HookFunc) Apply(ctx context.Context, c Change) (map[string]any, error) { return f(ctx, c) }

// runHooks passes c through every hook in order; each sees the outputs the one before returned.
func (p *Provider) runHooks(ctx context.Context, c Change) (map[string]any, error) {
	for _, h := range p.hooks {
		out, err := h.Apply(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.Op, c.URN, err)
		}
		if c.Op != OpDelete && out != nil {
			c.Outputs = out
		}
	}
	return c.Outputs, nil
}
