package localcloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Create makes a resource: inputs become outputs, plus the type's computed attributes.
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := req.GetUrn()
	typ := typeOf(urn, req.GetType())
	props, err := plugin.UnmarshalProperties(req.GetProperties(), inOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	if req.GetPreview() {
		a := p.attrs(ctx, urn, typ, knownMappable(props))
		out := props.Copy()
		for _, k := range a.ComputedKeys() {
			if _, set := out[resource.PropertyKey(k)]; !set {
				out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewStringProperty(""))
			}
		}
		st, err := plugin.MarshalProperties(out, outOpts())
		if err != nil {
			return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
		}
		return &pulumirpc.CreateResponse{Properties: st}, nil
	}
	inputs := props.Mappable()
	a := p.attrs(ctx, urn, typ, inputs)
	id, outputs := a.Materialize()
	now := time.Now().UTC()
	r := Resource{URN: urn, Type: typ, ID: id, Region: a.Region, Project: a.Project,
		Inputs: inputs, Outputs: outputs, Created: now, Updated: now}
	if p.pkg == "gcp" {
		r.Region = ""
	} else {
		r.Project = ""
	}
	if r.Outputs, err = p.runHooks(ctx, change(OpCreate, r)); err != nil {
		return nil, fmt.Errorf("localcloud %s: %w", p.pkg, err)
	}
	outputs = r.Outputs
	if err := p.store.Put(urnStack(urn), r); err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	st, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(outputs), outOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: st}, nil
}

// Read returns the resource as the simulated cloud has it now (drift shows here), or an empty id when gone.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	r, err := p.store.Get(urnStack(req.GetUrn()), req.GetId())
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return &pulumirpc.ReadResponse{}, nil
		}
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	props, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(r.Outputs), outOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	inputs, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(r.Inputs), outOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	return &pulumirpc.ReadResponse{Id: r.ID, Properties: props, Inputs: inputs}, nil
}

// change is the hooks' view of r.
func change(op Op, r Resource) Change {
	return Change{Op: op, Stack: urnStack(r.URN), URN: r.URN, Type: r.Type, ID: r.ID, Region: r.Region,
		Project: r.Project, Inputs: r.Inputs, Outputs: r.Outputs}
}

// Update changes a resource in place: new inputs replace old ones, computed attributes are kept.
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := req.GetUrn()
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), inOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), inOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	oldInputs, err := plugin.UnmarshalProperties(req.GetOldInputs(), inOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	out := olds.Copy()
	for k := range oldInputs {
		if _, still := news[k]; !still {
			delete(out, k)
		}
	}
	for k, v := range news {
		out[k] = v
	}
	if tags, ok := news["tags"]; ok && p.pkg == "aws" {
		out["tagsAll"] = tags
	}
	if req.GetPreview() {
		st, err := plugin.MarshalProperties(out, outOpts())
		if err != nil {
			return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
		}
		return &pulumirpc.UpdateResponse{Properties: st}, nil
	}
	stack := urnStack(urn)
	r, err := p.store.Get(stack, req.GetId())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s (id %s): %w", p.pkg, urn, req.GetId(), err)
	}
	if v, ok := out["latestVersion"]; ok && v.IsNumber() {
		out["latestVersion"] = resource.NewNumberProperty(v.NumberValue() + 1)
	}
	r.Inputs = news.Mappable()
	r.Outputs = out.Mappable()
	r.Updated = time.Now().UTC()
	if len(p.hooks) > 0 {
		if r.Outputs, err = p.runHooks(ctx, change(OpUpdate, r)); err != nil {
			return nil, fmt.Errorf("localcloud %s: %w", p.pkg, err)
		}
		out = resource.NewPropertyMapFromMap(r.Outputs)
	}
	if err := p.store.Put(stack, r); err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	st, err := plugin.MarshalProperties(out, outOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	return &pulumirpc.UpdateResponse{Properties: st}, nil
}

// Delete removes a resource; one already gone is fine.
func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	stack := urnStack(req.GetUrn())
	if len(p.hooks) > 0 {
		r, err := p.store.Get(stack, req.GetId())
		switch {
		case err == nil:
			if _, err := p.runHooks(ctx, change(OpDelete, r)); err != nil {
				return nil, fmt.Errorf("localcloud %s: %w", p.pkg, err)
			}
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("localcloud %s: delete %s: %w", p.pkg, req.GetUrn(), err)
		}
	}
	if err := p.store.Delete(stack, req.GetId()); err != nil {
		return nil, fmt.Errorf("localcloud %s: delete %s: %w", p.pkg, req.GetUrn(), err)
	}
	return &emptypb.Empty{}, nil
}

// Invoke answers the data-source functions programs commonly call.
func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := plugin.UnmarshalProperties(req.GetArgs(), inOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	region, project := p.settings(ctx)
	ret, ok := invoke(req.GetTok(), knownMappable(args), region, project)
	if !ok {
		return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{{
			Reason: fmt.Sprintf("localcloud: function %s is not simulated", req.GetTok())}}}, nil
	}
	st, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(ret), outOpts())
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: st}, nil
}
