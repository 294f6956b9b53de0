//go:build tools

// Package tools pins the Pulumi CLI that plinth drives through the Automation API.
// `make bin/pulumi` builds github.com/pulumi/pulumi/pkg/v3/cmd/pulumi from this module,
// stamped with its version (the Automation API refuses an unstamped CLI).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
