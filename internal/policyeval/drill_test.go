package policyeval_test

import (
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/stacks"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestDrillStackPassesThePolicyPack: a DR drill stack (production rebuilt in the DR region, into the DR
// network production exports) passes the same policy gate `plinth up` runs.
func TestDrillStackPassesThePolicyPack(t *testing.T) {
	data, err := environments.EmbeddedStackFile("production")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := offline.Evaluate(environments.Project, "production", cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	if v := policyeval.Check(prod); len(v) != 0 {
		t.Fatalf("production: %v", v)
	}
	inv, err := contract.Parse(prod.Outputs)
	if err != nil || inv.DRNetwork == nil {
		t.Fatalf("production's drNetwork: %v", err)
	}
	const id = "drill-20261203T030000Z"
	values, err := environments.DrillStackConfig(cfg.Values, environments.Drill{ID: id, DatabaseEndpoint: "drill-db.local:3306", Network: *inv.DRNetwork})
	if err != nil {
		t.Fatal(err)
	}
	res, err := offline.Evaluate(environments.Project, environments.DrillStackName("production", id), values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range policyeval.Check(res) {
		t.Errorf("drill stack violates %+v", v)
	}
}
