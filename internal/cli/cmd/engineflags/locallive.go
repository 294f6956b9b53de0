package engineflags

import (
	"context"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/provision"
)

// WithLocalCloudLive returns open, attaching the Factory's LocalCloudLive (the live local cloud's hooks) to
// the options of every stack it opens; without one, open unchanged.
func WithLocalCloudLive(f *cmdutil.Factory, open Opener) Opener {
	if f.LocalCloudLive == nil {
		return open
	}
	return func(ctx context.Context, o provision.Options) (Engine, error) {
		if o.LocalCloudLive == nil {
			o.LocalCloudLive = f.LocalCloudLive
		}
		return open(ctx, o)
	}
}
