package drill_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// listed is a TearDowner that removes nothing and lists what it is given, recording the order of calls.
type listed struct {
	name  string
	left  []string
	order *[]string
}

func (l listed) Teardown(context.Context, string) ([]string, error) {
	*l.order = append(*l.order, l.name)
	return l.left, nil
}

type nopDatabase struct{ listed }

func (nopDatabase) Create(context.Context, string) (*sql.DB, string, error) { return nil, "", nil }
func (nopDatabase) Promote(context.Context, string) error                   { return nil }
func (nopDatabase) Endpoint(string) string                                  { return "" }

// TestCloudPartsRunTheLeftoverCheckLast: the cloud's parts fill what the command did not set; the leftover
// check runs after every other teardown (the database's, the platform's), and a resource both list counts
// once in what is left behind.
func TestCloudPartsRunTheLeftoverCheckLast(t *testing.T) {
	var order []string
	const arn = "arn:aws:rds:eu-central-1:123456789012:db:plinth-drill-20261203t030000z"
	db := nopDatabase{listed{name: "database", left: []string{arn}, order: &order}}
	address := func(context.Context, string, *contract.Inventory) (string, string, error) {
		return "https://lb", "", nil
	}
	parts := drill.CloudParts{Database: db, DRReplicaDSN: "dr", Address: address,
		Leftovers: listed{name: "leftovers", left: []string{arn, "arn:aws:autoscaling:eu-central-1:123456789012:autoScalingGroup:x"}, order: &order}}

	cfg := drill.EnvConfig{DRReplicaDSN: "given", Platform: &drill.StackPlatform{}}
	parts.Apply(&cfg)
	if cfg.DrillDatabase == nil || cfg.DRReplicaDSN != "given" || cfg.Leftovers == nil || cfg.Platform.Address == nil {
		t.Fatalf("applied: %+v", cfg)
	}
	none := drill.EnvConfig{}
	drill.CloudParts{}.Apply(&none) // nothing to add: nothing changes, no platform to give an address to
	if none.DrillDatabase != nil || none.Leftovers != nil || none.DRReplicaDSN != "" {
		t.Errorf("empty parts applied: %+v", none)
	}

	p := drill.Plan{ID: "drill-20261203T030000Z", Source: drill.SourceReplica}
	env, closeEnv, err := drill.OpenEnv(context.Background(), p, drill.EnvConfig{DrillDatabase: db, Leftovers: parts.Leftovers})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	left, err := drill.Teardown(context.Background(), p.ID, env.Teardown)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"database", "leftovers"}) {
		t.Errorf("teardown order %v, want the leftover check last", order)
	}
	if len(left) != 2 || left[0] != arn {
		t.Errorf("left %q: want the instance once and the group", left)
	}
}

// TestTeardownOnCloudSaysWhatItCannotCheck: a cloud that gives no parts and no drill stack tears nothing
// down and says so for each part, rather than reporting a clean 0 silently.
func TestTeardownOnCloudSaysWhatItCannotCheck(t *testing.T) {
	res, err := drill.TeardownOnCloud(context.Background(), "drill-20261203T030000Z", drill.CloudParts{}, nil, "")
	if err != nil || len(res.Left) != 0 || len(res.NotChecked) != 3 {
		t.Errorf("%+v, %v", res, err)
	}
	var order []string
	parts := drill.CloudParts{Database: nopDatabase{listed{name: "database", order: &order}},
		Leftovers: listed{name: "leftovers", left: []string{"arn:x"}, order: &order}}
	res, err = drill.TeardownOnCloud(context.Background(), "drill-20261203T030000Z", parts, nil, "")
	if err != nil || !slices.Equal(res.Left, []string{"arn:x"}) || len(res.NotChecked) != 1 || !slices.Equal(order, []string{"database", "leftovers"}) {
		t.Errorf("%+v, %v, order %v", res, err, order)
	}
}
