package offline

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Result is what one offline evaluation produced.
type Result struct {
	Project, Stack string
	StackURN       string
	Resources      []*Resource
	// Outputs are the program's exported values, resolved.
	Outputs map[string]any
	// OutputRegistrations counts RegisterResourceOutputs calls (one per component plus the stack's).
	OutputRegistrations int
}

// Program is a Pulumi program that also hands back what it exported (with ctx.Export), so offline runs can
// read outputs that the mock engine does not surface.
type Program func(ctx *pulumi.Context) (pulumi.Map, error)

// Evaluate runs program under the mock engine with the given stack config ("namespace:key" -> value).
func Evaluate(project, stack string, config map[string]string, secretKeys []string, program Program) (*Result, error) {
	rec := NewRecorder(project, stack)
	var (
		mu      sync.Mutex
		outputs = map[string]any{}
	)
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		exports, err := program(ctx)
		if err != nil {
			return err
		}
		for k, v := range exports {
			k := k
			pulumi.ToOutput(v).ApplyT(func(x any) any {
				mu.Lock()
				outputs[k] = x
				mu.Unlock()
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks(project, stack, rec), withConfig)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s/%s: %w", project, stack, err)
	}
	// Outputs resolved through ApplyT keep their Go types ([]string, map[string]string...): make them the same
	// plain JSON values inputs are.
	raw, err := json.Marshal(outputs)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s/%s: outputs: %w", project, stack, err)
	}
	outputs = map[string]any{}
	if err := json.Unmarshal(raw, &outputs); err != nil {
		return nil, fmt.Errorf("evaluate %s/%s: outputs: %w", project, stack, err)
	}
	return &Result{
		Project:             project,
		Stack:               stack,
		StackURN:            rec.StackURN(),
		Resources:           rec.Resources(),
		Outputs:             outputs,
		OutputRegistrations: rec.OutputRegistrations(),
	}, nil
}

// ByType returns the resources of type typ, in registration order.
func (r *Result) ByType(typ string) []*Resource {
	var out []*Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// ByURN indexes the resources by URN.
func (r *Result) ByURN() map[string]*Resource {
	out := make(map[string]*Resource, len(r.Resources))
	for _, res := range r.Resources {
		out[res.URN] = res
	}
	return out
}

// CountByType counts resources per type.
func (r *Result) CountByType() map[string]int {
	out := map[string]int{}
	for _, res := range r.Resources {
		out[res.Type]++
	}
	return out
}
