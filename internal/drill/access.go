package drill

import "context"

// CloudAccess is what a stack's cloud gives a drill beyond its flags: its own ways to production's primary
// (a writer: the heartbeats) and DR replica (read by the preflight), as DSNs, and the DrillDatabase of
// `--source replica`. Empty fields leave the flags' and the environment's in place.
type CloudAccess struct {
	PrimaryDSN   string
	DRReplicaDSN string
	Database     DrillDatabase
	// Close releases what the access opened (tunnels, connections); nil: nothing.
	Close func()
}

// Accessor gives the CloudAccess of a plan's stack (the Factory's DrillAccess).
type Accessor func(ctx context.Context, p Plan) (CloudAccess, error)
