package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Resources lists the URNs of what the stack's state holds (its resources, not the stack itself or its
// providers): after a destroy, what is left.
func (e *Engine) Resources(ctx context.Context) ([]string, error) {
	dep, err := e.stack.Export(ctx)
	if err != nil {
		return nil, classify(fmt.Sprintf("stack %s: export", e.opts.Stack), err)
	}
	return deploymentResources(dep.Deployment)
}

func deploymentResources(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var d struct {
		Resources []struct {
			URN  string `json:"urn"`
			Type string `json:"type"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("stack state: %w", err)
	}
	var out []string
	for _, r := range d.Resources {
		if r.Type == "pulumi:pulumi:Stack" || strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		out = append(out, r.URN)
	}
	return out, nil
}

// Remove deletes the stack itself (its state and settings); it must hold no resources.
func (e *Engine) Remove(ctx context.Context) error {
	if err := e.ws.RemoveStack(ctx, e.opts.Stack); err != nil {
		return classify(fmt.Sprintf("stack %s: remove", e.opts.Stack), err)
	}
	return nil
}

// StackResources opens stack read-only and lists what its state holds; a stack that does not exist holds
// nothing.
func StackResources(ctx context.Context, o Options) ([]string, error) {
	left, err := readOnly(ctx, o, (*Engine).Resources)
	if errors.Is(err, ErrNoStack) {
		return nil, nil
	}
	return left, err
}
