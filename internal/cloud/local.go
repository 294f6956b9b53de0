package cloud

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// LocalCloud is a stack provisioned with `plinth up --cloud local`: its resources are records in the local
// cloud, so until the local cloud runs live hosts, deploy and backup need real targets passed explicitly.
type LocalCloud struct{}

// Name is Local.
func (LocalCloud) Name() string { return Local }

// Hosts refuses: the stack's instances are records.
func (LocalCloud) Hosts(_ context.Context, stack string, _ map[string]any) (*inventory.Inventory, error) {
	return nil, fmt.Errorf("stack %s lives in the local cloud, whose instances are records, not hosts (%w): pass --inventory FILE to deploy to real hosts", stack, ErrNotLive)
}

// DatabaseAddr refuses: the stack's database is a record.
func (LocalCloud) DatabaseAddr(stack string, _ *contract.Inventory) (string, error) {
	return "", fmt.Errorf("stack %s lives in the local cloud, whose database is a record, not a server (%w): pass --dsn DSN", stack, ErrNotLive)
}

// BackupStore refuses: the stack's vault bucket is a record.
func (LocalCloud) BackupStore(stack string, _ *contract.Inventory) (string, error) {
	return "", fmt.Errorf("stack %s lives in the local cloud, whose backup vault is a record, not a bucket (%w): pass --store URL (e.g. file:///var/backups/plinth)", stack, ErrNotLive)
}
