// Command plinth provisions, deploys, backs up and drills the platform.
package main

import (
	"os"

	"github.com/plinth-dev/plinth/internal/cli"
)

func main() { os.Exit(cli.Main()) }
