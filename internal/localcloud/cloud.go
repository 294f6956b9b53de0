package localcloud

import (
	"fmt"
	"net"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Packages are the packages the local cloud simulates.
func Packages() []string { return []string{"aws", "gcp", "random"} }

// Cloud is the running local cloud: one gRPC provider server per package on 127.0.0.1.
type Cloud struct {
	Store   *Store
	servers []*grpc.Server
	ports   map[string]int
}

// Start serves the simulated aws, gcp and random providers on loopback ports, keeping state under dir and
// passing every resource change through hooks, in order (the live parts; see the package documentation).
func Start(dir string, hooks ...Hook) (*Cloud, error) {
	store, err := NewStore(dir)
	if err != nil {
		return nil, err
	}
	c := &Cloud{Store: store, ports: map[string]int{}}
	for _, pkg := range Packages() {
		prov, err := NewProvider(pkg, store, hooks...)
		if err != nil {
			c.Close()
			return nil, err
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("localcloud: listen for %s: %w", pkg, err)
		}
		srv := grpc.NewServer(grpc.MaxRecvMsgSize(256<<20), grpc.MaxSendMsgSize(256<<20))
		pulumirpc.RegisterResourceProviderServer(srv, prov)
		c.servers = append(c.servers, srv)
		c.ports[pkg] = lis.Addr().(*net.TCPAddr).Port
		go func() { _ = srv.Serve(lis) }()
	}
	return c, nil
}

// DebugProviders is the value of PULUMI_DEBUG_PROVIDERS that attaches the engine to this cloud.
func (c *Cloud) DebugProviders() string {
	parts := make([]string, 0, len(Packages()))
	for _, pkg := range Packages() {
		parts = append(parts, fmt.Sprintf("%s:%d", pkg, c.ports[pkg]))
	}
	return strings.Join(parts, ",")
}

// Close stops the provider servers.
func (c *Cloud) Close() {
	for _, s := range c.servers {
		s.Stop()
	}
	c.servers = nil
}
