// Package tags merges the environment's tags (environment, owner, stack, managed-by) with per-resource ones.
package tags

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Merge returns base plus extra (extra wins).
func Merge(base pulumi.StringMap, extra map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = pulumi.String(v)
	}
	return out
}

// Named returns base plus a Name tag.
func Named(base pulumi.StringMap, name string) pulumi.StringMap {
	return Merge(base, map[string]string{"Name": name})
}
