package drill

import (
	"context"

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
