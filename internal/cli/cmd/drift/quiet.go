package drift

import (
	"context"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/provision"
)

// quiet drops per-step progress but keeps warnings and errors (on the events' way to the report).
func quiet(open engineflags.Opener) engineflags.Opener {
	if open == nil {
		open = engineflags.OpenEngine
	}
	return func(ctx context.Context, o provision.Options) (engineflags.Engine, error) {
		next := o.OnEvent
		o.OnEvent = func(e provision.Event) {
			if e.Kind == provision.EventDiag && (e.Severity == "warning" || e.Severity == "error") && next != nil {
				next(e)
			}
		}
		return open(ctx, o)
	}
}
