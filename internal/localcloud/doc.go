// Package localcloud is a simulated resource provider for the `aws`, `gcp` and `random` Pulumi packages,
// served in process over gRPC and attached to the real Pulumi engine with PULUMI_DEBUG_PROVIDERS. It keeps
// resources in a JSON state file per stack, returns the computed attributes of internal/cloudattrs (the table
// the offline evaluation shares) and lets tests change resources behind the engine's back (drift).
//
// Files, one concern each: cloud.go starts the provider servers; provider.go is the plugin protocol and the
// provider instances' configuration; diff.go decides updates and replacements; crud.go applies them to the
// store and to the hooks; store.go is the state file; urn.go reads URNs with the SDK; invoke.go answers data
// functions.
//
// # Hooks: where live parts attach
//
// The simulated provider only records resources. Live parts (real hosts, load balancers, databases: see
// internal/localcloud/live) attach as a [Hook], passed to [Start] (or [NewProvider]):
//
//	type Hook interface {
//		Apply(ctx context.Context, c Change) (map[string]any, error)
//	}
//
// The provider calls every hook, in order, after it has computed a resource's outputs and before it records
// them, once per real (non-preview) Create, Update and Delete. The [Change] says what happened: the operation,
// the stack, the URN, the resource type, its id, region/project, inputs and outputs (for a delete, the last
// recorded ones). A hook returns the outputs to record (the given ones, or a copy with attributes it made real,
// e.g. a host's actual address); on Delete its returned outputs are ignored. An error fails the engine step
// with the hook's message, and nothing is recorded. Reads and previews never reach a hook. A hook that only
// cares about a few types returns c.Outputs for the others.
package localcloud
