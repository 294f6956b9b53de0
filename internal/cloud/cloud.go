// Package cloud is the seam through which commands reach a provisioned stack's cloud: its hosts (deploy),
// its database endpoint and its backup store (backup). The stack records the cloud it was provisioned into
// (the `plinth:cloud` tag `plinth up --cloud` sets); For picks the implementation from it: AWS (the SDK calls,
// credentials checked up front with one clear error) or Local (the local cloud, whose resources are records
// until it runs live hosts: every method says what is missing and which flag to pass instead).
package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// The clouds a stack can live in (provision.CloudAWS and provision.CloudLocal).
const (
	AWS   = "aws"
	Local = "local"
)

// Sentinel errors.
var (
	// ErrNotLive is returned by the local cloud for what only real machines can give.
	ErrNotLive = errors.New("the local cloud has no live hosts")
	// ErrNoCredentials is returned when an aws stack is used without AWS credentials.
	ErrNoCredentials = errors.New("no AWS credentials")
	// ErrCloudMismatch is returned when --cloud names another cloud than the one the stack recorded.
	ErrCloudMismatch = errors.New("cloud mismatch")
)

// Cloud is what deploy and backup need of a stack's cloud.
type Cloud interface {
	// Name is AWS or Local.
	Name() string
	// Hosts resolves the stack's hosts from its inventory output (deploy).
	Hosts(ctx context.Context, stack string, outputs map[string]any) (*inventory.Inventory, error)
	// DatabaseAddr is the host:port of the stack's MySQL writer (backup).
	DatabaseAddr(stack string, inv *contract.Inventory) (string, error)
	// BackupStore is the URL of the stack's backup vault (backup).
	BackupStore(stack string, inv *contract.Inventory) (string, error)
	// Access: SSH access to the hosts and the tiers' load balancer drainers (deploy).
	Access
}

// Recorded returns the cloud a stack was provisioned into ("" when unknown: AWS).
type Recorded func(ctx context.Context, stack string) (string, error)

// For returns the Cloud of stack: the one it recorded (recorded nil or "": AWS). The local cloud it
// returns is bookkeeping only; Clouds.For also reads the live platform.
func For(ctx context.Context, recorded Recorded, stack string) (Cloud, error) {
	return Clouds{Recorded: recorded}.For(ctx, stack, "")
}

// databaseAddr and backupStore read what the inventory names (an AWS stack's real endpoints).
func databaseAddr(stack string, inv *contract.Inventory) (string, error) {
	if inv.Database == nil || inv.Database.WriterEndpoint == "" {
		return "", fmt.Errorf("stack %s: inventory has no database.writerEndpoint yet: pass --dsn", stack)
	}
	return inv.Database.WriterEndpoint, nil
}

func backupStore(stack string, inv *contract.Inventory) (string, error) {
	if inv.BackupVault == nil || inv.BackupVault.Bucket == "" {
		return "", fmt.Errorf("stack %s: inventory has no backupVault.bucket yet: pass --store", stack)
	}
	return "gs://" + inv.BackupVault.Bucket + "?prefix=" + stack + "/", nil
}
