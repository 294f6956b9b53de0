package cmdutil

import (
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/views"
)

// Output formats shared by every command that prints data.
const (
	OutputHuman = views.FormatHuman
	OutputJSON  = views.FormatJSON
)

// AddOutputFlag registers --output/-o (human|json) on cmd.
func AddOutputFlag(cmd *cobra.Command, target *string) {
	cmd.Flags().StringVarP(target, "output", "o", OutputHuman, "output format: human or json")
}

// ValidateOutput checks the value of --output.
func ValidateOutput(v string) error {
	switch v {
	case OutputHuman, OutputJSON:
		return nil
	}
	return FlagErrorf("--output: want human or json, got %q", v)
}
