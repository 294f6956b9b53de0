package drill

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// CloudParts is what a stack's cloud adds to a drill (the Factory's DrillCloud resolves it; on AWS
// internal/cli/drillwire_aws.go). A nil part leaves its step as the other inputs make it.
type CloudParts struct {
	// Database makes the drill database from production's DR replica (--source replica).
	Database DrillDatabase
	// DRReplicaDSN reaches production's DR replica for the preflight's lag check ("": not resolved).
	DRReplicaDSN string
	// Leftovers lists, after every other teardown, what still carries the drill's tag in the DR region.
	Leftovers TearDowner
	// Address gives the verify step the drill load balancer's HTTPS address once its tiers serve
	// (StackPlatform.Address).
	Address func(ctx context.Context, stack string, inv *contract.Inventory) (url, caFile string, err error)
}

// Apply puts parts into cfg: each part fills what cfg does not set already.
func (parts CloudParts) Apply(cfg *EnvConfig) {
	if cfg.DrillDatabase == nil {
		cfg.DrillDatabase = parts.Database
	}
	if cfg.DRReplicaDSN == "" {
		cfg.DRReplicaDSN = parts.DRReplicaDSN
	}
	if cfg.Leftovers == nil {
		cfg.Leftovers = parts.Leftovers
	}
	if cfg.Platform != nil && cfg.Platform.Address == nil {
		cfg.Platform.Address = parts.Address
	}
}

// TeardownOnCloud is `plinth drill teardown ID --stack S`: what drill id may have left on the stack's cloud
// torn down in the drill's own order — the drill stack (platform; nil: not checked), the cloud's drill
// database, the databases restored on the DR server (drDSN; "": none) — and, last, the cloud's leftover check.
// Idempotent: each part tolerates what is already gone.
func TeardownOnCloud(ctx context.Context, id string, parts CloudParts, platform *StackPlatform, drDSN string) (TeardownResult, error) {
	res := TeardownResult{ID: id, Left: []string{}, NotChecked: []string{}}
	var tds []TearDowner
	if parts.Leftovers != nil {
		tds = append(tds, parts.Leftovers)
	} else {
		res.NotChecked = append(res.NotChecked, "resources tagged with the drill id: the stack's cloud lists none by tag")
	}
	if drDSN != "" {
		db, err := mysqlx.Open(drDSN)
		if err != nil {
			return res, fmt.Errorf("DR server %s: %w", mysqlx.Redact(drDSN), err)
		}
		defer db.Close()
		tds = append(tds, DatabaseTeardown{DB: db, Where: mysqlx.Redact(drDSN)})
	}
	if parts.Database != nil {
		tds = append(tds, parts.Database)
	} else {
		res.NotChecked = append(res.NotChecked, "a drill database made from the DR replica: the stack's cloud gives none")
	}
	if platform != nil {
		tds = append(tds, platform)
	} else {
		res.NotChecked = append(res.NotChecked, missing(StepPlatform)+": "+ErrUnavailable.Error())
	}
	left, err := Teardown(ctx, id, tds)
	res.Left = left
	return res, err
}
