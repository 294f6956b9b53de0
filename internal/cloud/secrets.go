package cloud

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// Backups read the database with a dedicated least-privilege user whose credentials are a secret of the
// stack (Secrets Manager on AWS, the local cloud's store on --cloud local), never environment variables.
// `plinth backup grant --stack S` creates it from the master user's managed secret.

// BackupUser is the backup account's name.
const BackupUser = "plinth_backup"

// BackupPrivileges lists the backup user's privileges.
func BackupPrivileges() string { return strings.Join(mysqlx.BackupPrivileges, ", ") }

// BackupUserSecretID is the secret that holds the stack's backup user ({"username","password"}).
func BackupUserSecretID(stack string) string { return "plinth/" + stack + "/db-backup-user" }

// ErrNoSecret is returned (wrapped) when a secret does not exist.
var ErrNoSecret = errors.New("no such secret")

// SecretStore reads and writes a stack's secrets.
type SecretStore interface {
	GetSecret(ctx context.Context, id string) (string, error)
	// PutSecret creates the secret or stores a new version of it.
	PutSecret(ctx context.Context, id, value string) error
}

// DBCredentials are a database user's, as Secrets Manager holds them (RDS's managed secret's JSON).
type DBCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// ReadDBCredentials reads a secret holding DBCredentials.
func ReadDBCredentials(ctx context.Context, s SecretStore, id string) (DBCredentials, error) {
	raw, err := s.GetSecret(ctx, id)
	if err != nil {
		return DBCredentials{}, err
	}
	var c DBCredentials
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Username == "" || c.Password == "" {
		return DBCredentials{}, fmt.Errorf("secret %s: want JSON with username and password", id)
	}
	return c, nil
}

// LocalSecrets is the local cloud's Secrets Manager: the live cloud's secrets file.
type LocalSecrets struct{ File string }

// GetSecret reads a secret's value.
func (l LocalSecrets) GetSecret(_ context.Context, id string) (string, error) {
	v, err := live.OpenSecrets(l.File).Get(id)
	if errors.Is(err, live.ErrNoSecret) {
		return "", fmt.Errorf("secret %s: %w", id, ErrNoSecret)
	}
	return v, err
}

// PutSecret stores a secret's value.
func (l LocalSecrets) PutSecret(_ context.Context, id, value string) error {
	return live.OpenSecrets(l.File).Put(id, value)
}

// SecretsManagerAPI is the part of the Secrets Manager client plinth uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ReplicateSecretToRegions(ctx context.Context, in *secretsmanager.ReplicateSecretToRegionsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ReplicateSecretToRegionsOutput, error)
}

// AWSSecrets is AWS Secrets Manager through the SDK.
type AWSSecrets struct {
	API SecretsManagerAPI
	// ReplicaRegions are where the secrets plinth stores are replicated to (the stack's DR region): a regional
	// disaster must not take the credentials the DR drill's application tier resolves at start with it.
	// Secrets Manager keeps each replica's value in step with the primary's.
	ReplicaRegions []string
}

// GetSecret reads the current version's string.
func (a AWSSecrets) GetSecret(ctx context.Context, id string) (string, error) {
	out, err := a.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return "", fmt.Errorf("secret %s: %w", id, ErrNoSecret)
	case err != nil:
		return "", fmt.Errorf("secret %s: %w", id, err)
	case out.SecretString == nil:
		return "", fmt.Errorf("secret %s: no string value", id)
	}
	return *out.SecretString, nil
}

// PutSecret stores a new version, creating the secret when it does not exist.
func (a AWSSecrets) PutSecret(ctx context.Context, id, value string) error {
	_, err := a.API.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, err = a.API.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value),
			Description: aws.String("plinth: database credentials"), AddReplicaRegions: replicaRegions(a.ReplicaRegions)})
	} else if err == nil {
		err = a.replicate(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", id, err)
	}
	return nil
}

// replicate adds the replica regions an existing secret lacks (one stored before the stack had a DR region).
func (a AWSSecrets) replicate(ctx context.Context, id string) error {
	if len(a.ReplicaRegions) == 0 {
		return nil
	}
	d, err := a.API.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range d.ReplicationStatus {
		have[aws.ToString(r.Region)] = true
	}
	var missing []string
	for _, r := range a.ReplicaRegions {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = a.API.ReplicateSecretToRegions(ctx, &secretsmanager.ReplicateSecretToRegionsInput{SecretId: aws.String(id),
		AddReplicaRegions: replicaRegions(missing)})
	return err
}

// replicaRegions: each replica encrypted with Secrets Manager's own key in its region (aws/secretsmanager).
func replicaRegions(regions []string) []smtypes.ReplicaRegionType {
	out := make([]smtypes.ReplicaRegionType, len(regions))
	for i, r := range regions {
		out[i] = smtypes.ReplicaRegionType{Region: aws.String(r)}
	}
	return out
}

// DatabaseConn is how a command reaches a stack's database: its address, TLS settings (the server verified)
// and, when set, a dialer (through the bastion, as an operator does).
type DatabaseConn struct {
	Addr string
	TLS  *tls.Config
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Close releases the dialer's connections (nil: nothing to release).
	Close func() error
}

// DSN registers the connection's dialer and TLS configuration with the MySQL driver under name (one per
// stack: "plinth-<stack>") and returns a DSN for creds.
func (c DatabaseConn) DSN(name string, creds DBCredentials) (string, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = creds.Username, creds.Password, "tcp", c.Addr
	if c.Dial != nil {
		mysql.RegisterDialContext(name, c.Dial)
		cfg.Net = name
	}
	if c.TLS != nil {
		if err := mysql.RegisterTLSConfig(name, c.TLS); err != nil {
			return "", fmt.Errorf("database %s: tls: %w", c.Addr, err)
		}
		cfg.TLSConfig = name
	}
	return cfg.FormatDSN(), nil
}

// BackupAccess is what backup needs of a stack's cloud beyond addresses: its secrets, the way to its
// database, and the vault as one of its identities.
type BackupAccess interface {
	// Secrets is the stack's secret store.
	Secrets(ctx context.Context, stack string, inv *contract.Inventory) (SecretStore, error)
	// Database is how to reach the stack's writer.
	Database(ctx context.Context, stack string, inv *contract.Inventory) (DatabaseConn, error)
	// BackupStoreAs is the vault's URL as identity (VaultWriter for backup run, VaultRestore to read).
	BackupStoreAs(ctx context.Context, stack string, inv *contract.Inventory, identity string) (string, error)
}

var (
	_ BackupAccess = LocalCloud{}
	_ BackupAccess = AWSCloud{}
)

// The vault's identities.
const (
	VaultWriter  = live.VaultWriter
	VaultRestore = live.VaultRestore
)

// BackupDSN is the DSN of the stack's backup user over the cloud's way to its writer, and that way (its
// dialer, for a client other than the MySQL driver: the binlog stream; its Close releases it).
func BackupDSN(ctx context.Context, a BackupAccess, stack string, inv *contract.Inventory) (string, DatabaseConn, error) {
	s, err := a.Secrets(ctx, stack, inv)
	if err != nil {
		return "", DatabaseConn{}, err
	}
	creds, err := ReadDBCredentials(ctx, s, BackupUserSecretID(stack))
	if errors.Is(err, ErrNoSecret) {
		return "", DatabaseConn{}, fmt.Errorf("stack %s has no backup user yet (%w): run `plinth backup grant --stack %s` once", stack, err, stack)
	}
	if err != nil {
		return "", DatabaseConn{}, err
	}
	conn, err := a.Database(ctx, stack, inv)
	if err != nil {
		return "", DatabaseConn{}, err
	}
	dsn, err := conn.DSN("plinth-"+stack, creds)
	if err != nil {
		return "", conn, err
	}
	return dsn, conn, nil
}

// GrantBackupUser creates the stack's backup user from the master user's managed secret (the inventory's
// database.masterSecretArn) and stores its credentials as BackupUserSecretID. A second grant keeps the
// stored password and re-applies the privileges.
func GrantBackupUser(ctx context.Context, a BackupAccess, stack string, inv *contract.Inventory) error {
	return grantFromMaster(ctx, a, stack, inv, BackupUserSecretID(stack), BackupUser, mysqlx.GrantBackupUser)
}

// GrantAppUser creates the stack's application user (userdata.AppDBUser: DML on the userdata.AppSchema
// schema only, which it creates with its health table) the same way, its credentials stored as
// userdata.AppDBSecretID, the secret the app tier's unit resolves at start. On the live local cloud the data
// tier has made it already with the same secret: a grant keeps the password and re-applies the privileges.
func GrantAppUser(ctx context.Context, a BackupAccess, stack string, inv *contract.Inventory) error {
	return grantFromMaster(ctx, a, stack, inv, userdata.AppDBSecretID(stack), userdata.AppDBUser,
		func(ctx context.Context, db *sql.DB, user, password string) error {
			return mysqlx.GrantAppUser(ctx, db, user, password, userdata.AppSchema)
		})
}

// grantFromMaster connects to the stack's writer as the master user (its managed secret) and runs grant for
// user with the password stored in secretID (a new random one the first time), then stores the credentials.
func grantFromMaster(ctx context.Context, a BackupAccess, stack string, inv *contract.Inventory, secretID, user string,
	grant func(ctx context.Context, db *sql.DB, user, password string) error) error {
	if inv.Database == nil || inv.Database.MasterSecretARN == "" {
		return fmt.Errorf("stack %s: inventory has no database.masterSecretArn", stack)
	}
	s, err := a.Secrets(ctx, stack, inv)
	if err != nil {
		return err
	}
	master, err := ReadDBCredentials(ctx, s, inv.Database.MasterSecretARN)
	if err != nil {
		return fmt.Errorf("stack %s: master secret: %w", stack, err)
	}
	creds, err := ReadDBCredentials(ctx, s, secretID)
	if errors.Is(err, ErrNoSecret) {
		creds = DBCredentials{Username: user, Password: randomPassword()}
	} else if err != nil {
		return err
	}
	conn, err := a.Database(ctx, stack, inv)
	if err != nil {
		return err
	}
	if conn.Close != nil {
		defer conn.Close()
	}
	dsn, err := conn.DSN("plinth-"+stack, master)
	if err != nil {
		return err
	}
	db, err := mysqlx.Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := grant(ctx, db, creds.Username, creds.Password); err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	raw, err := json.Marshal(creds)
	if err != nil {
		return err
	}
	return s.PutSecret(ctx, secretID, string(raw))
}

func randomPassword() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the kernel's CSPRNG does not fail
	}
	return hex.EncodeToString(b)
}
