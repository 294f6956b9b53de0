// Package lb takes hosts out of their load balancer and puts them back (deploy.Drainer): AWS ALB target
// groups through the elasticloadbalancingv2 API, and HAProxy through its runtime API (admin socket).
package lb

import (
	"context"
	"time"
)

// poll calls check every interval until it reports done, returns an error, or timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
