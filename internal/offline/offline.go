// Package offline evaluates a Pulumi program with the SDK's mock engine: no cloud, no credentials, no network.
// It records every resource registration (type, name, parent, inputs) and answers with plausible computed
// outputs, so `plinth preview --offline`, `plinth policy check` and the component tests all see the same tree.
package offline

import (
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Resource is one registered resource.
type Resource struct {
	URN      string `json:"urn"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Parent   string `json:"parent"` // parent URN ("" for the stack itself)
	Custom   bool   `json:"custom"`
	Provider string `json:"provider,omitempty"`
	ID       string `json:"id,omitempty"`
	// Deps maps an input property to the URNs of the resources its value came from (how rules follow
	// references: the same information the engine gives policy packs).
	Deps map[string][]string `json:"-"`
	// DeleteBeforeReplace and Protect are resource options the program set.
	DeleteBeforeReplace bool `json:"deleteBeforeReplace,omitempty"`
	Protect             bool `json:"protect,omitempty"`
	// Inputs are plain Go values (map[string]any, []any, string, float64, bool, nil); secret values are
	// wrapped in Secret. Outputs are the inputs plus computed attributes.
	Inputs  map[string]any `json:"-"`
	Outputs map[string]any `json:"-"`
}

// Secret wraps a value the program marked secret. It prints as [secret].
type Secret struct{ Value any }

func (Secret) String() string { return "[secret]" }

// MarshalJSON never reveals the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[secret]"`), nil }

// Recorder is a pulumi.MockResourceMonitor that records registrations.
type Recorder struct {
	project, stack string

	mu        sync.Mutex
	resources []*Resource
	outputs   int // RegisterResourceOutputs calls seen (components must make one each)
}

// NewRecorder returns a Recorder for project/stack.
func NewRecorder(project, stack string) *Recorder {
	return &Recorder{project: project, stack: stack}
}

// StackURN is the URN of the root stack resource.
func (r *Recorder) StackURN() string {
	return string(resource.NewURN(tokens.QName(r.stack), tokens.PackageName(r.project), "",
		resource.RootStackType, r.project+"-"+r.stack))
}

func (r *Recorder) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(r.stack), tokens.PackageName(r.project), parentType, tokens.Type(typ), name))
}

// NewResource implements pulumi.MockResourceMonitor.
func (r *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent, deleteBeforeReplace, protect := "", false, false
	deps := map[string][]string{}
	if rpc := args.RegisterRPC; rpc != nil {
		parent, deleteBeforeReplace, protect = rpc.GetParent(), rpc.GetDeleteBeforeReplace(), rpc.GetProtect()
		for prop, d := range rpc.GetPropertyDependencies() {
			if urns := d.GetUrns(); len(urns) > 0 {
				deps[prop] = urns
			}
		}
	}
	if parent == "" && args.TypeToken != string(resource.RootStackType) {
		parent = r.StackURN()
	}
	id, state := args.ID, args.Inputs.Copy()
	if args.Custom {
		id, state = materialize(args.TypeToken, args.Name, args.ID, args.Inputs)
	}
	inputs := plain(resource.NewObjectProperty(args.Inputs)).(map[string]any)
	res := &Resource{
		URN:                 r.urn(parent, args.TypeToken, args.Name),
		Type:                args.TypeToken,
		Name:                args.Name,
		Parent:              parent,
		Custom:              args.Custom,
		Provider:            args.Provider,
		ID:                  id,
		DeleteBeforeReplace: deleteBeforeReplace,
		Protect:             protect,
		Deps:                deps,
		Inputs:              inputs,
		Outputs:             plain(resource.NewObjectProperty(state)).(map[string]any),
	}
	r.mu.Lock()
	r.resources = append(r.resources, res)
	r.mu.Unlock()
	return id, state, nil
}

// Call implements pulumi.MockResourceMonitor: plinth's programs make no provider invokes offline.
func (r *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("offline: invoke %s is not simulated: programs must not depend on provider data functions", args.Token)
}

// RegisterResourceOutputs counts component output registrations (the mock monitor's optional hook).
func (r *Recorder) RegisterResourceOutputs() (*emptypb.Empty, error) {
	r.mu.Lock()
	r.outputs++
	r.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// OutputRegistrations is how many RegisterResourceOutputs calls the program made (the stack's included).
func (r *Recorder) OutputRegistrations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outputs
}

// Resources returns the recorded resources in registration order.
func (r *Recorder) Resources() []*Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Resource(nil), r.resources...)
}

// plain converts a PropertyValue into plain Go values, wrapping secrets and dropping unknowns to nil.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret{Value: plain(v.SecretValue().Element)}
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return nil
		}
		if o.Secret {
			return Secret{Value: plain(o.Element)}
		}
		return plain(o.Element)
	case v.IsComputed():
		return nil
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return out
	case v.IsObject():
		obj := v.ObjectValue()
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			out[string(k)] = plain(e)
		}
		return out
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsAsset():
		return "[asset]"
	case v.IsArchive():
		return "[archive]"
	}
	return nil
}
