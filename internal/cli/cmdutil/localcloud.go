package cmdutil

import "context"

// LocalCloud is the live local cloud's server as `plinth local` sees it; the Factory builds it (the
// commands import no internal/localcloud).
type LocalCloud interface {
	// Serve runs the server in this process until it is stopped (`plinth local serve`); localCloudDir is
	// the local cloud's state directory, whose records seed each stack's platform.
	Serve(ctx context.Context, localCloudDir string) error
	// Status reports what runs; Running is false (and Stacks empty) when no server answers.
	Status(ctx context.Context) (LocalStatus, error)
	// Start starts the server unless it runs and brings back every stack that ran live (after Stop), at
	// the addresses and ports it had; it reports what runs then.
	Start(ctx context.Context) (LocalStatus, error)
	// Stop stops every process of the live cloud and waits for the server to exit; false: none was running.
	Stop(ctx context.Context) (bool, error)
}

// LocalStatus is `plinth local status -o json`.
type LocalStatus struct {
	Running bool               `json:"-"`
	Stacks  []LocalStackStatus `json:"stacks"`
}

// LocalStackStatus is one stack's live platform.
type LocalStackStatus struct {
	Stack   string            `json:"stack"`
	URL     string            `json:"url"`
	CAFile  string            `json:"caFile"`
	Bastion string            `json:"bastion"`
	Hosts   []LocalHostStatus `json:"hosts"`
	// The data tier: databases, cache nodes, the backup vault, and what stands in for search.
	Databases []LocalDatabaseStatus `json:"databases"`
	Caches    []LocalCacheStatus    `json:"caches"`
	Vault     *LocalVaultStatus     `json:"vault,omitempty"`
	Search    string                `json:"search,omitempty"`
}

// LocalDatabaseStatus is one live database; LagSeconds is a replica's (0 on the primary, -1 when its
// replication does not run).
type LocalDatabaseStatus struct {
	Name       string `json:"name"`
	Role       string `json:"role"` // primary | replica | dr-replica
	Address    string `json:"address"`
	LagSeconds int    `json:"lagSeconds"`
}

// LocalCacheStatus is one live cache node.
type LocalCacheStatus struct {
	Name    string `json:"name"`
	Role    string `json:"role"` // primary | replica
	Address string `json:"address"`
}

// LocalVaultStatus is the live backup vault: its bucket and published HTTPS address.
type LocalVaultStatus struct {
	Bucket string `json:"bucket"`
	URL    string `json:"url"`
	// PlatformEndpoint is where the platform's hosts reach it (the worker's backup units), when they can.
	PlatformEndpoint string `json:"platformEndpoint,omitempty"`
}

// LocalHostStatus is one live host.
type LocalHostStatus struct {
	Name    string `json:"name"`
	Tier    string `json:"tier"`
	Address string `json:"address"`
	State   string `json:"state"`
}
