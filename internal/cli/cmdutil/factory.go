// Package cmdutil holds what every plinth command shares: the Factory, exit codes, output flags.
package cmdutil

import (
	"os"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

// Factory builds the dependencies of commands. Tests replace fields.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// ProjectDir is the directory holding Pulumi.yaml (default: $PLINTH_PROJECT_DIR or the working directory).
	ProjectDir func() (string, error)
	Now        func() time.Time
	Getenv     func(string) string
}

// New returns the production Factory.
func New() *Factory {
	return &Factory{
		IOStreams: iostreams.System(),
		ProjectDir: func() (string, error) {
			if d := os.Getenv("PLINTH_PROJECT_DIR"); d != "" {
				return d, nil
			}
			return os.Getwd()
		},
		Now:    time.Now,
		Getenv: os.Getenv,
	}
}
