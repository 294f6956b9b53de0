// Command program is what the plain `pulumi` CLI runs for this project (Pulumi.yaml: main ./cmd/program).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/stacks"
)

func main() { pulumi.Run(stacks.Program) }
