package localcloud

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Package versions reported by GetPluginInfo: the versions of the SDKs the program is built with.
const (
	AWSVersion = "6.83.2"
	GCPVersion = "7.38.0"
)

// replaceKeys are the inputs whose change replaces a resource (most clouds cannot rename or re-home in place).
var replaceKeys = map[string]bool{
	"name": true, "namePrefix": true, "bucket": true, "cidrBlock": true, "vpcId": true, "availabilityZone": true,
	"engine": true, "location": true, "project": true, "accountId": true, "identifier": true,
	"clusterIdentifier": true, "domainName": true, "keyRing": true, "replicationGroupId": true, "clusterId": true,
	"workloadIdentityPoolId": true, "workloadIdentityPoolProviderId": true,
}

// Provider is the simulated resource provider of one package (aws or gcp).
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	pkg, version string
	store        *Store

	mu sync.Mutex
	// configs holds each provider instance's configuration, keyed by the engine's connection (one gRPC
	// connection per provider instance), since resource operations do not say which instance they use.
	configs map[string]map[string]any
}

// NewProvider returns the simulated provider of pkg ("aws" or "gcp") keeping resources in store.
func NewProvider(pkg string, store *Store) (*Provider, error) {
	var v string
	switch pkg {
	case "aws":
		v = AWSVersion
	case "gcp":
		v = GCPVersion
	case "random":
		v = RandomVersion
	default:
		return nil, fmt.Errorf("localcloud: no simulated provider for package %q (have aws, gcp, random)", pkg)
	}
	return &Provider{pkg: pkg, version: v, store: store, configs: map[string]map[string]any{}}, nil
}

var (
	inOpts  = plugin.MarshalOptions{Label: "localcloud.in", KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
	outOpts = plugin.MarshalOptions{Label: "localcloud.out", KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
)

func peerKey(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// settings returns region and project of the provider instance on this connection, with defaults.
func (p *Provider) settings(ctx context.Context) (region, project string) {
	p.mu.Lock()
	cfg := p.configs[peerKey(ctx)]
	p.mu.Unlock()
	region, _ = cfg["region"].(string)
	project, _ = cfg["project"].(string)
	if region == "" {
		region = map[string]string{"aws": "us-east-1", "gcp": "europe-west1"}[p.pkg]
	}
	if project == "" {
		project = "plinth-local"
	}
	return region, project
}

func (p *Provider) attrs(ctx context.Context, urn, typ string, inputs map[string]any) *attrCtx {
	region, project := p.settings(ctx)
	if r, ok := inputs["region"].(string); ok && r != "" {
		region = r
	}
	if pr, ok := inputs["project"].(string); ok && pr != "" {
		project = pr
	}
	return &attrCtx{pkg: p.pkg, typ: typ, logical: urnName(urn), region: region, project: project, inputs: inputs}
}

func typeOf(urn, typ string) string {
	if typ != "" {
		return typ
	}
	// urn:pulumi:stack::project::[parent$]type::name
	parts := splitURN(urn)
	if len(parts) >= 3 {
		t := parts[2]
		for i := len(t) - 1; i >= 0; i-- {
			if t[i] == '$' {
				return t[i+1:]
			}
		}
		return t
	}
	return ""
}

func splitURN(urn string) []string {
	var parts []string
	rest := urn
	for {
		i := indexOf(rest, "::")
		if i < 0 {
			return append(parts, rest)
		}
		parts = append(parts, rest[:i])
		rest = rest[i+2:]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// Handshake accepts the engine's connection.
func (p *Provider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptResources: true}, nil
}

// GetPluginInfo reports the package version the program's SDK asks for.
func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

// GetSchema returns a minimal schema (the engine does not need one to deploy).
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.pkg, p.version)}, nil
}

// Attach is a no-op: the server is already running.
func (p *Provider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Cancel is a no-op: operations are instant.
func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// GetMapping reports no mappings.
func (p *Provider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

// GetMappings reports no mappings.
func (p *Provider) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}

// CheckConfig accepts any provider configuration.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports changed provider settings; none forces replacement of the provider.
func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	return diff(olds, req.GetNews(), func(string) bool { return false })
}

// Configure records the configuration of the provider instance on this connection.
func (p *Provider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	cfg := map[string]any{}
	if args := req.GetArgs(); args != nil {
		props, err := plugin.UnmarshalProperties(args, inOpts)
		if err != nil {
			return nil, fmt.Errorf("localcloud %s: configure: %w", p.pkg, err)
		}
		cfg = knownMappable(props)
	} else {
		for k, v := range req.GetVariables() {
			// aws:config:region -> region
			cfg[k[lastIndexByte(k, ':')+1:]] = v
		}
	}
	p.mu.Lock()
	p.configs[peerKey(ctx)] = cfg
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{SupportsPreview: true, AcceptResources: true}, nil
}

func lastIndexByte(s string, b byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// knownMappable converts props to plain values, dropping unknowns.
func knownMappable(props resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		if v.ContainsUnknowns() {
			continue
		}
		out[string(k)] = v.Mappable()
	}
	return out
}

// Check accepts the inputs as given.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// Diff compares old and new inputs; keys in replaceKeys force a replacement.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	ignore := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignore[k] = true
	}
	// pulumi-random replaces on any input change (a new value); the clouds on identity keys.
	resp, err := diff(olds, req.GetNews(), func(k string) bool { return p.pkg == "random" || replaceKeys[k] })
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: diff %s: %w", p.pkg, req.GetUrn(), err)
	}
	if len(ignore) > 0 {
		resp = dropIgnored(resp, ignore)
	}
	return resp, nil
}

func dropIgnored(resp *pulumirpc.DiffResponse, ignore map[string]bool) *pulumirpc.DiffResponse {
	keep := func(ks []string) []string {
		var out []string
		for _, k := range ks {
			if !ignore[k] {
				out = append(out, k)
			}
		}
		return out
	}
	resp.Diffs, resp.Replaces = keep(resp.Diffs), keep(resp.Replaces)
	for k := range resp.DetailedDiff {
		if ignore[k] {
			delete(resp.DetailedDiff, k)
		}
	}
	if len(resp.Diffs) == 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_NONE
	}
	return resp
}

func diff(oldStruct, newStruct *structpb.Struct, replaces func(string) bool) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(oldStruct, inOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(newStruct, inOpts)
	if err != nil {
		return nil, err
	}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, string(k))
	}
	sort.Strings(sorted)
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range sorted {
		o, hasOld := olds[resource.PropertyKey(k)]
		n, hasNew := news[resource.PropertyKey(k)]
		if hasOld && o.IsNull() {
			hasOld = false
		}
		if hasNew && n.IsNull() {
			hasNew = false
		}
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hasOld && !hasNew:
			continue
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case n.ContainsUnknowns() || !o.DeepEquals(n):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		if replaces(k) {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// Create makes a resource: inputs become outputs, plus the type's computed attributes.
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := req.GetUrn()
	typ := typeOf(urn, req.GetType())
	props, err := plugin.UnmarshalProperties(req.GetProperties(), inOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	if req.GetPreview() {
		a := p.attrs(ctx, urn, typ, knownMappable(props))
		out := props.Copy()
		for _, k := range computedKeys(a) {
			if _, set := out[resource.PropertyKey(k)]; !set {
				out[resource.PropertyKey(k)] = resource.MakeComputed(resource.NewStringProperty(""))
			}
		}
		st, err := plugin.MarshalProperties(out, outOpts)
		if err != nil {
			return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
		}
		return &pulumirpc.CreateResponse{Properties: st}, nil
	}
	inputs := props.Mappable()
	a := p.attrs(ctx, urn, typ, inputs)
	id, outputs := materialize(a)
	now := time.Now().UTC()
	r := Resource{URN: urn, Type: typ, ID: id, Region: a.region, Project: a.project,
		Inputs: inputs, Outputs: outputs, Created: now, Updated: now}
	if p.pkg == "gcp" {
		r.Region = ""
	} else {
		r.Project = ""
	}
	if err := p.store.Put(urnStack(urn), r); err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	st, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(outputs), outOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: create %s: %w", p.pkg, urn, err)
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: st}, nil
}

// Read returns the resource as the simulated cloud has it now (drift shows here), or an empty id when gone.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	r, err := p.store.Get(urnStack(req.GetUrn()), req.GetId())
	if err != nil {
		if isNotFound(err) {
			return &pulumirpc.ReadResponse{}, nil
		}
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	props, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(r.Outputs), outOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	inputs, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(r.Inputs), outOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: read %s: %w", p.pkg, req.GetUrn(), err)
	}
	return &pulumirpc.ReadResponse{Id: r.ID, Properties: props, Inputs: inputs}, nil
}

func isNotFound(err error) bool {
	for e := err; e != nil; {
		if e == ErrNotFound {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// Update changes a resource in place: new inputs replace old ones, computed attributes are kept.
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := req.GetUrn()
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), inOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), inOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	oldInputs, err := plugin.UnmarshalProperties(req.GetOldInputs(), inOpts)
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
		st, err := plugin.MarshalProperties(out, outOpts)
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
	if err := p.store.Put(stack, r); err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	st, err := plugin.MarshalProperties(out, outOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: update %s: %w", p.pkg, urn, err)
	}
	return &pulumirpc.UpdateResponse{Properties: st}, nil
}

// Delete removes a resource; one already gone is fine.
func (p *Provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := p.store.Delete(urnStack(req.GetUrn()), req.GetId()); err != nil {
		return nil, fmt.Errorf("localcloud %s: delete %s: %w", p.pkg, req.GetUrn(), err)
	}
	return &emptypb.Empty{}, nil
}

// Invoke answers the data-source functions programs commonly call.
func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := plugin.UnmarshalProperties(req.GetArgs(), inOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	region, project := p.settings(ctx)
	ret, ok := invoke(req.GetTok(), knownMappable(args), region, project)
	if !ok {
		return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{{
			Reason: fmt.Sprintf("localcloud: function %s is not simulated", req.GetTok())}}}, nil
	}
	st, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(ret), outOpts)
	if err != nil {
		return nil, fmt.Errorf("localcloud %s: invoke %s: %w", p.pkg, req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: st}, nil
}
