package shared

import (
	"context"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// Drainer returns the load balancer drainer of tier (nil when the tier has none).
func Drainer(_ context.Context, _ *Env, _ string) (deploy.Drainer, error) {
	return nil, nil
}
