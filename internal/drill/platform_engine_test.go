package drill

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/stacks"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestDrillStackThroughTheEngine: the platform step on the real Pulumi engine and the (bookkeeping) local
// cloud: production is up; the drill stack is built from production's config and exported DR network, in the
// DR region, every resource tagged with the drill id; teardown destroys and removes it (nothing left, in the
// engine's state or the cloud), and a second teardown of the same drill finds nothing and fails nothing.
func TestDrillStackThroughTheEngine(t *testing.T) {
	home := t.TempDir()
	cloud, err := localcloud.NewStore(filepath.Join(home, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	prodConfig, err := environments.EmbeddedStackFile("production")
	if err != nil {
		t.Fatal(err)
	}
	base := provision.Options{
		Program: stacks.Program, Home: home, Cloud: provision.CloudLocal, LocalCloudDir: cloud.Dir(),
		PulumiCommand: localcloudtest.PulumiCLI(t), PulumiHome: filepath.Join(home, "pulumi-home"),
		Promotion: map[string]string{}, // the promotion gate has its own tests; this one is about the drill stack
		Getenv: func(k string) string {
			if k == "PULUMI_CONFIG_PASSPHRASE" {
				return "plinth-test-passphrase"
			}
			return ""
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	prod := base
	prod.Stack, prod.StackConfig = "production", prodConfig
	eng, err := provision.Open(ctx, prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Up(ctx, provision.UpOptions{}); err != nil {
		eng.Close()
		t.Fatal(err)
	}
	outs, err := eng.Outputs(ctx)
	eng.Close()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := contract.Parse(outs)
	if err != nil || inv.DRNetwork == nil {
		t.Fatalf("production's inventory has no drNetwork: %v", err)
	}
	cfg, err := environments.ParseStackFile(prodConfig)
	if err != nil {
		t.Fatal(err)
	}

	const id = "drill-20261203T030000Z"
	sp := &StackPlatform{Engine: EngineStacks{Options: base}, Source: "production", Config: cfg.Values, Network: inv.DRNetwork}
	p := Plan{ID: id, Stack: "production", DRRegion: inv.DRRegion}
	if err := sp.Build(ctx, p, Recovered{}); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("a build without the drill database's endpoint: %v", err)
	}
	if err := sp.Build(ctx, p, Recovered{Endpoint: "10.40.20.10:3306"}); err != nil {
		t.Fatal(err)
	}
	built := sp.Built()
	if built == nil || built.Region != inv.DRRegion || built.VpcID != inv.DRNetwork.VpcID || built.Database.WriterEndpoint != "10.40.20.10:3306" {
		t.Fatalf("drill inventory: %+v", built)
	}
	url, _, err := sp.Target(ctx, p)
	if err != nil || !strings.HasPrefix(url, "https://") {
		t.Errorf("verify target %q: %v", url, err)
	}
	drillStack := sp.Stack(id)
	rs, err := cloud.List(drillStack)
	if err != nil || len(rs) == 0 {
		t.Fatalf("the local cloud holds %d resources of %s: %v", len(rs), drillStack, err)
	}
	tagged := 0
	for _, r := range rs {
		if tags, ok := r.Inputs["tags"].(map[string]any); ok {
			if tags[environments.DrillTag] != id {
				t.Errorf("%s tags %v lack %s=%s", r.URN, tags, environments.DrillTag, id)
			}
			tagged++
		}
		if r.Region != "" && r.Region != inv.DRRegion {
			t.Errorf("%s in %s, want the DR region %s", r.URN, r.Region, inv.DRRegion)
		}
	}
	if tagged == 0 {
		t.Error("no drill resource carries tags")
	}
	t.Logf("drill stack %s: %d resources in the local cloud, %d tagged", drillStack, len(rs), tagged)

	for round := 1; round <= 2; round++ {
		left, err := sp.Teardown(ctx, id)
		if err != nil || len(left) != 0 {
			t.Fatalf("teardown %d: left %v, %v", round, left, err)
		}
		if rs, _ := cloud.List(drillStack); len(rs) != 0 {
			t.Fatalf("teardown %d: the local cloud still holds %d resources of %s", round, len(rs), drillStack)
		}
	}
	if rs, _ := cloud.List("production"); len(rs) == 0 {
		t.Error("the drill's teardown touched production")
	}
}
