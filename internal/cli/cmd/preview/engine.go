package preview

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// EngineOptions are the flags of a preview run by the real Pulumi engine (Automation API).
type EngineOptions struct{}

func addEngineFlags(cmd *cobra.Command, o *EngineOptions) {}

func engineRun(ctx context.Context, opts *PreviewOptions) error {
	return errors.New("preview through the Pulumi engine is not wired yet: use --offline")
}
