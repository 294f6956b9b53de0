// Package contract is the one typed inventory a stack exports (the `inventory` output) and that deploy,
// backup and the coming DR drill read back. stacks marshals exactly these fields (TestInventoryContract in
// stacks proves every stack's export decodes into Inventory with every field set); readers decode with Parse.
// Pure: encoding/json only.
package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/plinth-dev/plinth/environments"
)

// Output is the name of the stack output holding the Inventory.
const Output = "inventory"

// Inventory is what a provisioned stack tells the tools that run on it.
type Inventory struct {
	Stack       string `json:"stack"`
	Environment string `json:"environment"`
	Region      string `json:"region"`
	// DRRegion is empty when the stack has no DR region.
	DRRegion     string          `json:"drRegion"`
	VpcID        string          `json:"vpcId"`
	Bastion      Bastion         `json:"bastion"`
	LoadBalancer LoadBalancer    `json:"loadBalancer"`
	Tiers        map[string]Tier `json:"tiers"`
	// The data tiers: nil when the stack does not have them.
	Database      *Database    `json:"database,omitempty"`
	Search        *Search      `json:"search,omitempty"`
	Cache         *Cache       `json:"cache,omitempty"`
	AlarmTopicARN string       `json:"alarmTopicArn,omitempty"`
	BackupVault   *BackupVault `json:"backupVault,omitempty"`
	// DRNetwork is production's DR VPC (set when the stack has a DR replica): where `plinth drill` rebuilds
	// the tiers, load balancer and bastion, with the DR firewall's security groups.
	DRNetwork *DRNetwork `json:"drNetwork,omitempty"`
}

// Bastion is the SSH jump host.
type Bastion struct {
	ASGName string `json:"asgName"`
	Address string `json:"address"`
	SSHUser string `json:"sshUser"`
}

// LoadBalancer is the public ALB.
type LoadBalancer struct {
	ARN               string `json:"arn"`
	DNSName           string `json:"dnsName"`
	AppTargetGroupARN string `json:"appTargetGroupArn"`
}

// Tier is one auto-scaled compute tier (app, worker, sftp).
type Tier struct {
	ASGName string `json:"asgName"`
	// TargetGroupARN is set for the tier behind the load balancer (app).
	TargetGroupARN string `json:"targetGroupArn,omitempty"`
	Min            int    `json:"min"`
	Desired        int    `json:"desired"`
	Port           int    `json:"port"`
}

// Database is the MySQL primary, its replicas and its DR replica.
type Database struct {
	WriterEndpoint  string   `json:"writerEndpoint"`
	ReaderEndpoints []string `json:"readerEndpoints"`
	DRReplicaID     string   `json:"drReplicaId"`
	MasterSecretARN string   `json:"masterSecretArn"`
	RestoreRoleName string   `json:"restoreRoleName"`
}

// Search is the OpenSearch domain.
type Search struct {
	Endpoint string `json:"endpoint"`
}

// Cache is the Redis replication group.
type Cache struct {
	PrimaryEndpoint    string `json:"primaryEndpoint"`
	ReaderEndpoint     string `json:"readerEndpoint"`
	AuthTokenSecretARN string `json:"authTokenSecretArn"`
}

// BackupVault is the off-cloud backup bucket (GCS) and who may write and restore.
type BackupVault struct {
	Bucket                   string `json:"bucket"`
	URL                      string `json:"url"`
	KMSKey                   string `json:"kmsKey"`
	WriterServiceAccount     string `json:"writerServiceAccount"`
	RestoreServiceAccount    string `json:"restoreServiceAccount"`
	WorkloadIdentityProvider string `json:"workloadIdentityProvider"`
}

// ErrNoInventory is returned when a stack's outputs hold no `inventory`.
var ErrNoInventory = errors.New("no `inventory` output")

// Parse reads the Inventory from a stack's outputs (the object, or its JSON text). Fields it does not know
// are ignored and missing ones stay zero: a reader needs only its part.
func Parse(outputs map[string]any) (*Inventory, error) {
	raw, ok := outputs[Output]
	if !ok {
		return nil, ErrNoInventory
	}
	var data []byte
	switch v := raw.(type) {
	case string:
		data = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		data = b
	}
	var inv Inventory
	if err := json.Unmarshal(data, &inv); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return &inv, nil
}

// DRNetwork is what a drill stack is built into; the same type as the drill stack's `plinth:drill` network.
type DRNetwork = environments.DrillNetwork
