package drill

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/environments"
)

type fakeStacks struct {
	calls   []string
	config  map[string]string
	upErr   error
	destroy error
	left    []string
}

func (f *fakeStacks) Up(_ context.Context, stack string, cfg map[string]string) (map[string]any, error) {
	f.calls = append(f.calls, "up "+stack)
	f.config = cfg
	if f.upErr != nil {
		return nil, f.upErr
	}
	return map[string]any{"inventory": map[string]any{"stack": stack, "region": "eu-central-1",
		"loadBalancer": map[string]any{"dnsName": "drill-lb.example"}}}, nil
}

func (f *fakeStacks) Destroy(_ context.Context, stack string) error {
	f.calls = append(f.calls, "destroy "+stack)
	return f.destroy
}

func (f *fakeStacks) Resources(_ context.Context, stack string) ([]string, error) {
	f.calls = append(f.calls, "list "+stack)
	return f.left, nil
}

type orderTeardown struct {
	name string
	log  *[]string
}

func (o orderTeardown) Teardown(context.Context, string) ([]string, error) {
	*o.log = append(*o.log, o.name)
	return nil, nil
}

func TestStackPlatform(t *testing.T) {
	ctx := context.Background()
	net := &environments.DrillNetwork{VpcID: "vpc-1", PublicSubnetIDs: []string{"s-1"}, PrivateSubnetIDs: []string{"s-2"},
		SecurityGroups: map[string]string{"lb": "g1", "app": "g2", "worker": "g3", "sftp": "g4", "bastion": "g5"}}
	p := Plan{ID: "drill-20261203T030000Z", Stack: "production", DRRegion: "eu-central-1"}
	f := &fakeStacks{}
	sp := &StackPlatform{Engine: f, Source: "production", Config: map[string]string{environments.ConfigKey: `{"environment":"production"}`}, Network: net}
	if _, _, err := sp.Target(ctx, p); err == nil {
		t.Error("a target before the build")
	}
	if err := sp.Build(ctx, p, Recovered{Endpoint: "10.0.0.5:3306"}); err != nil {
		t.Fatal(err)
	}
	d, err := environments.ParseDrill(f.config[environments.DrillConfigKey])
	if err != nil || d.DatabaseEndpoint != "10.0.0.5:3306" || d.Network.VpcID != "vpc-1" || f.config[environments.ConfigKey] == "" {
		t.Errorf("drill stack config %v: %v", f.config, err)
	}
	if url, ca, err := sp.Target(ctx, p); url != "https://drill-lb.example" || ca != "" || err != nil {
		t.Errorf("target = %q %q %v", url, ca, err)
	}

	// Teardown: the platform goes before the database that served it, and what the state keeps is named.
	var order []string
	f.left = []string{"urn:pulumi:production-drill-20261203T030000Z::plinth::aws:lb/loadBalancer:LoadBalancer::lb"}
	f.destroy = errors.New("the engine failed")
	env := []TearDowner{orderTeardown{"database", &order}, sp, orderTeardown{"after", &order}}
	left, err := Teardown(ctx, p.ID, env)
	if err == nil || !strings.Contains(err.Error(), "destroy drill stack production-drill-20261203T030000Z") || len(left) != 1 {
		t.Errorf("teardown: left %v, %v", left, err)
	}
	if !slices.Equal(order, []string{"after", "database"}) || !slices.Contains(f.calls, "destroy production-drill-20261203T030000Z") {
		t.Errorf("order %v calls %v", order, f.calls)
	}

	// Missing inputs fail the step as unavailable, naming what is missing, without touching the engine.
	f.calls = nil
	for _, c := range []struct {
		sp   *StackPlatform
		rec  Recovered
		want string
	}{
		{&StackPlatform{Engine: f, Source: "production"}, Recovered{Endpoint: "db:3306"}, "drNetwork"},
		{&StackPlatform{Engine: f, Source: "production", Network: net}, Recovered{}, "endpoint"},
	} {
		if err := c.sp.Build(ctx, p, c.rec); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("build: %v, want ErrUnavailable naming %s", err, c.want)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("engine called: %v", f.calls)
	}
	f.upErr = errors.New("policy violation")
	if err := sp.Build(ctx, p, Recovered{Endpoint: "db:3306"}); err == nil || !strings.Contains(err.Error(), "drill stack production-drill-20261203T030000Z: policy violation") {
		t.Errorf("engine failure: %v", err)
	}
}
