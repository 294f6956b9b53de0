package cloud

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/plinth-dev/plinth/stacks/contract"
)

// The AWS side of BackupAccess: Secrets Manager through the SDK (the region's), the writer endpoint
// reached through the stack's bastion with the operator's own key and known_hosts (~/.ssh), TLS verified
// against the system roots (add the RDS CA bundle to them, e.g. SSL_CERT_FILE), the vault bucket with
// Application Default Credentials (workload identity federation picks the identity).

// Secrets is AWS Secrets Manager in the stack's region; what plinth stores there is replicated to the
// stack's DR region, if it has one.
func (c AWSCloud) Secrets(ctx context.Context, stack string, inv *contract.Inventory) (SecretStore, error) {
	cfg, err := c.Config(ctx, stack, inv.Region)
	if err != nil {
		return nil, err
	}
	s := AWSSecrets{API: secretsmanager.NewFromConfig(cfg)}
	if inv.DRRegion != "" && inv.DRRegion != inv.Region {
		s.ReplicaRegions = []string{inv.DRRegion}
	}
	return s, nil
}

// Database is the writer endpoint, through the bastion when the inventory names one.
func (AWSCloud) Database(_ context.Context, stack string, inv *contract.Inventory) (DatabaseConn, error) {
	addr, err := databaseAddr(stack, inv)
	if err != nil {
		return DatabaseConn{}, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return DatabaseConn{}, fmt.Errorf("stack %s: database.writerEndpoint %q: %w", stack, addr, err)
	}
	conn := DatabaseConn{Addr: addr, TLS: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	if inv.Bastion.Address == "" {
		return conn, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return DatabaseConn{}, err
	}
	conn.Dial, conn.Close, err = BastionDialer(net.JoinHostPort(inv.Bastion.Address, "22"), inv.Bastion.SSHUser,
		filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "known_hosts"))
	return conn, err
}

// BackupStoreAs is the vault bucket; the identity is the credentials' (workload identity federation).
func (AWSCloud) BackupStoreAs(_ context.Context, stack string, inv *contract.Inventory, _ string) (string, error) {
	return backupStore(stack, inv)
}
