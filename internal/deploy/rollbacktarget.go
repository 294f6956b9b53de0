package deploy

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// FindRollbackTarget finds the release to roll back to on hosts (to, or the previous complete one): complete
// on every host, and the same on all of them.
func FindRollbackTarget(ctx context.Context, r Runner, hosts []inventory.Host, to string) (string, error) {
	if len(hosts) == 0 {
		return "", fmt.Errorf("rollback: no hosts")
	}
	target := to
	listings := make([]Listing, len(hosts))
	for i, h := range hosts {
		res, err := r.Run(ctx, h, Command{Argv: ListArgv(h.Root)})
		if err != nil {
			return "", fmt.Errorf("rollback %s: list releases: %w", h.Name, err)
		}
		if listings[i], err = ParseListing(res.Stdout); err != nil {
			return "", fmt.Errorf("rollback %s: %w", h.Name, err)
		}
	}
	if target == "" {
		t, err := RollbackTarget(listings[0], "")
		if err != nil {
			return "", fmt.Errorf("rollback %s: %w", hosts[0].Name, err)
		}
		target = t
	}
	for i, h := range hosts {
		if _, err := RollbackTarget(listings[i], target); err != nil {
			return "", fmt.Errorf("rollback %s: %w", h.Name, err)
		}
	}
	return target, nil
}
