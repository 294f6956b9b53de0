// Command policy is plinth's Pulumi policy pack: `pulumi preview --policy-pack policy` (PulumiPolicy.yaml).
// The rules live in policy/rules; plinth runs the same rules offline with `plinth policy check`.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/plinth-dev/plinth/policy/pack"
)

func main() {
	if err := policyx.Main(pack.New); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
