package localcloud

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-dev/plinth/internal/cloudattrs"
)

// Package versions reported by GetPluginInfo: the versions of the SDKs the program is built with.
const (
	AWSVersion    = "6.83.2"
	GCPVersion    = "7.38.0"
	RandomVersion = "4.18.2"
)

// Provider is the simulated resource provider of one package (aws, gcp or random).
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	pkg, version string
	store        *Store
	hooks        []Hook

	mu sync.Mutex
	// configs holds each provider instance's configuration, keyed by the engine's connection (one gRPC
	// connection per provider instance), since resource operations do not say which instance they use.
	configs map[string]map[string]any
}

// NewProvider returns the simulated provider of pkg ("aws", "gcp" or "random") keeping resources in store and
// passing every change through hooks (see the package documentation).
func NewProvider(pkg string, store *Store, hooks ...Hook) (*Provider, error) {
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
	return &Provider{pkg: pkg, version: v, store: store, hooks: hooks, configs: map[string]map[string]any{}}, nil
}

// inOpts and outOpts unmarshal what the engine sends and marshal what the provider returns.
func inOpts() plugin.MarshalOptions {
	return plugin.MarshalOptions{Label: "localcloud.in", KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
}

func outOpts() plugin.MarshalOptions {
	return plugin.MarshalOptions{Label: "localcloud.out", KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true}
}

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
		region = cloudattrs.DefaultRegionOf(p.pkg)
	}
	if project == "" {
		project = cloudattrs.DefaultProject
	}
	return region, project
}

// attrs is the resource whose id and computed attributes the shared table makes (entropy from crypto/rand).
func (p *Provider) attrs(ctx context.Context, urn, typ string, inputs map[string]any) *cloudattrs.Resource {
	region, project := p.settings(ctx)
	if r, ok := inputs["region"].(string); ok && r != "" {
		region = r
	}
	if pr, ok := inputs["project"].(string); ok && pr != "" {
		project = pr
	}
	return &cloudattrs.Resource{Type: typ, Logical: urnName(urn), Region: region, Project: project, Inputs: inputs,
		Rand: cloudattrs.Random()}
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
		props, err := plugin.UnmarshalProperties(args, inOpts())
		if err != nil {
			return nil, fmt.Errorf("localcloud %s: configure: %w", p.pkg, err)
		}
		cfg = knownMappable(props)
	} else {
		for k, v := range req.GetVariables() {
			// aws:config:region -> region
			cfg[k[strings.LastIndexByte(k, ':')+1:]] = v
		}
	}
	p.mu.Lock()
	p.configs[peerKey(ctx)] = cfg
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{SupportsPreview: true, AcceptResources: true}, nil
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
