// Package target is the one set-up step of every backup verb and of the DR drill: from the flags, the
// environment and the stack's `inventory` output (read through the stack's cloud, internal/cloud) it resolves
// the database (a DSN) and the vault (a store URL), then opens what the verb asked for: the store, the
// database, the identities and the backup ID ("latest" included).
package target

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// Environment variables read (flags win). Passing the DSN through the environment keeps the password out
// of the process list.
const (
	EnvDSN      = "PLINTH_BACKUP_DSN"
	EnvStore    = "PLINTH_BACKUP_STORE"
	EnvIdentity = "PLINTH_BACKUP_IDENTITY"
	EnvDBUser   = "PLINTH_DB_USER"
	EnvDBPass   = "PLINTH_DB_PASSWORD"
)

// Flags name the target explicitly; each is optional.
type Flags struct {
	Stack string // the stack whose inventory names the database and the vault
	Cloud string // the stack's cloud (aws or local); "" reads the one the stack recorded
	DSN   string
	Store string
	// Writer: the verb writes new backups (the vault's writer identity; the others read as restore).
	Writer bool
}

// InputError is a target the flags, the environment and the stack leave unresolved, or a malformed backup
// ID: a usage error (exit 2).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Request says what a verb needs opened.
type Request struct {
	Flags
	// DB resolves the database's DSN and opens it.
	DB bool
	// ResolveOnly resolves the DSN and the store URL and opens nothing (the drill opens what its steps need);
	// what cannot be resolved is left empty and Open returns the partial Target with the error.
	ResolveOnly bool
	// IdentityFile is read into Identities when set (verify, restore).
	IdentityFile string
	// ID is resolved in the store when set ("latest": the newest restorable backup).
	ID string
	// ScratchDSN is opened as Scratch when set (verify --restore-into).
	ScratchDSN string
}

// Target is what Open resolved and opened; Close releases it.
type Target struct {
	Stack    string
	DSN      string // "" unless the database was asked for
	StoreURL string
	// Opened (nil with ResolveOnly, and DB/Scratch nil unless asked for).
	Store      *blobstore.Store
	DB         *sql.DB
	Scratch    *sql.DB
	ID         string
	Identities backup.Identities

	storeFromStack bool // the store URL is the one the stack's inventory names
	// dial is the way to the database the DSN's registered dialer takes (through the bastion), for the
	// binlog stream's client; closeConn releases it (nil: none).
	dial      func(ctx context.Context, addr string) (net.Conn, error)
	closeConn func() error
}

// Opener resolves and opens targets. The Factory builds it (cmdutil.Factory.BackupTargets).
type Opener struct {
	Getenv func(string) string
	// StackOutputs reads a stack's outputs (the `inventory` object among them).
	StackOutputs func(ctx context.Context, stack string) (map[string]any, error)
	// StackCloud reads the cloud a stack recorded (Flags.Cloud wins).
	StackCloud cloud.Recorded
}

// Open resolves the target and opens what req asks for. On error everything opened is closed again (with
// ResolveOnly the partial Target is returned too).
func (o *Opener) Open(ctx context.Context, req Request) (*Target, error) {
	t := &Target{Stack: req.Stack}
	if err := o.resolve(ctx, req, t); err != nil || req.ResolveOnly {
		return t, err
	}
	if err := t.open(ctx, req); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// resolve fills DSN (when asked for) and the store URL from the flags, then the environment, then the stack.
func (o *Opener) resolve(ctx context.Context, req Request, t *Target) error {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	t.DSN, t.StoreURL = req.DSN, req.Store
	if t.DSN == "" {
		t.DSN = getenv(EnvDSN)
	}
	if t.StoreURL == "" {
		t.StoreURL = getenv(EnvStore)
	}
	if t.DSN == "" && req.DB {
		dsn, err := hostDSN(getenv, req.Stack)
		if err != nil {
			return err
		}
		t.DSN = dsn
	}
	if !req.DB {
		t.DSN = ""
	}
	if req.Stack != "" && ((req.DB && t.DSN == "") || t.StoreURL == "") {
		inv, c, err := o.stack(ctx, req)
		if err != nil {
			return err
		}
		// A cloud that keeps the stack's secrets gives the backup user's credentials, the way to the
		// database (through the bastion) and the vault as the verb's identity.
		a, access := c.(cloud.BackupAccess)
		if t.StoreURL == "" && access {
			if t.StoreURL, err = a.BackupStoreAs(ctx, req.Stack, inv, vaultIdentity(req.Flags)); err != nil {
				return err
			}
			t.storeFromStack = true
		}
		if req.DB && t.DSN == "" && access && getenv(EnvDBUser) == "" {
			var conn cloud.DatabaseConn
			t.DSN, conn, err = cloud.BackupDSN(ctx, a, req.Stack, inv)
			t.dial, t.closeConn = conn.Dial, conn.Close
			if err != nil {
				return err
			}
		}
		if t.StoreURL == "" {
			if t.StoreURL, err = c.BackupStore(req.Stack, inv); err != nil {
				return err
			}
			t.storeFromStack = true
		}
		if req.DB && t.DSN == "" {
			if t.DSN, err = databaseDSN(getenv, c, req.Stack, inv); err != nil {
				return err
			}
		}
	}
	if req.DB && t.DSN == "" {
		return inputErrorf("no database: pass --dsn, set %s, or --stack", EnvDSN)
	}
	if t.StoreURL == "" {
		return inputErrorf("no backup store: pass --store URL, set %s, or --stack", EnvStore)
	}
	return nil
}

// stack reads the stack's inventory and its cloud (--cloud, else the one it recorded).
func (o *Opener) stack(ctx context.Context, req Request) (*contract.Inventory, cloud.Cloud, error) {
	if o.StackOutputs == nil {
		return nil, nil, fmt.Errorf("stack %s: no reader of stack outputs", req.Stack)
	}
	outs, err := o.StackOutputs(ctx, req.Stack)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", req.Stack, err)
	}
	inv, err := contract.Parse(outs)
	if errors.Is(err, contract.ErrNoInventory) {
		err = errors.New("stack has no inventory output")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", req.Stack, err)
	}
	recorded := o.StackCloud
	if req.Cloud != "" {
		recorded = func(context.Context, string) (string, error) { return req.Cloud, nil }
	}
	c, err := cloud.For(ctx, recorded, req.Stack)
	return inv, c, err
}

// vaultIdentity is the vault identity of the verb: the writer creates backups, the rest read.
func vaultIdentity(fl Flags) string {
	if fl.Writer {
		return cloud.VaultWriter
	}
	return cloud.VaultRestore
}

// databaseDSN builds the DSN of the stack's database: its address from the cloud, the backup user's
// credentials from the environment.
func databaseDSN(getenv func(string) string, c cloud.Cloud, stack string, inv *contract.Inventory) (string, error) {
	addr, err := c.DatabaseAddr(stack, inv)
	if err != nil {
		return "", err
	}
	user := getenv(EnvDBUser)
	if user == "" {
		return "", fmt.Errorf("stack %s: set %s and %s (the credentials of the backup user)", stack, EnvDBUser, EnvDBPass)
	}
	return mysqlx.DSN(addr, user, getenv(EnvDBPass)), nil
}

// open opens, in order, the identities, the store (and the backup ID), the database and the scratch server.
func (t *Target) open(ctx context.Context, req Request) error {
	var err error
	if req.IdentityFile != "" {
		if t.Identities, err = backup.ReadIdentityFile(req.IdentityFile); err != nil {
			return err
		}
	}
	if t.Store, err = blobstore.Open(ctx, t.StoreURL); err != nil {
		if t.storeFromStack { // the vault the stack names: say whose
			return fmt.Errorf("stack %s: backup vault: %w", t.Stack, err)
		}
		return err
	}
	if req.ID != "" {
		if t.ID, err = ResolveID(ctx, t.Store, req.ID); err != nil {
			return err
		}
	}
	if req.DB {
		if t.DB, err = mysqlx.Open(t.DSN); err != nil {
			return err
		}
	}
	if req.ScratchDSN != "" {
		if t.Scratch, err = mysqlx.Open(req.ScratchDSN); err != nil {
			return err
		}
	}
	return nil
}

// Close closes what Open opened.
func (t *Target) Close() {
	if t == nil {
		return
	}
	for _, db := range []*sql.DB{t.DB, t.Scratch} {
		if db != nil {
			_ = db.Close()
		}
	}
	if t.Store != nil {
		_ = t.Store.Close()
	}
	if t.closeConn != nil {
		_ = t.closeConn()
	}
}

// Address is the database's DSN without its password (for messages).
func (t *Target) Address() string { return mysqlx.Redact(t.DSN) }

// Replay replays binlog files into the database (backup.PITROptions.Replay).
func (t *Target) Replay(ctx context.Context, files []string, o mysqlx.ReplayOptions) error {
	if t.DB == nil {
		return errors.New("replay: no database opened")
	}
	return mysqlx.ReplayBinlog(ctx, t.DB, files, o)
}

// CheckReplay tells whether the database's user may replay binlog events (backup.PITROptions.CheckReplay).
func (t *Target) CheckReplay(ctx context.Context) error {
	if t.DB == nil {
		return errors.New("replay: no database opened")
	}
	return mysqlx.CheckReplayPrivilege(ctx, t.DB)
}

// Flavor is the database server's binlog flavor (mariadb or mysql).
func (t *Target) Flavor(ctx context.Context) (string, error) {
	if t.DB == nil {
		return "", errors.New("no database opened")
	}
	flavor, err := mysqlx.ServerFlavor(ctx, t.DB)
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Address(), err)
	}
	return flavor, nil
}

// BinlogSource returns the opener of the database's binlog stream as replica serverID
// (backup.BinlogOptions.Open).
func (t *Target) BinlogSource(flavor string, serverID uint32) func(from string) (backup.BinlogSource, error) {
	return func(from string) (backup.BinlogSource, error) {
		return mysqlx.OpenBinlogStream(t.DSN, flavor, serverID, from, t.dial)
	}
}

// CurrentGTID returns the reader of the database's current GTID set (backup.BinlogOptions.Current).
func (t *Target) CurrentGTID(flavor string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return mysqlx.CurrentGTID(ctx, t.DB, flavor) }
}

// ResolveID turns "latest" into the newest restorable backup's ID; another ID must be well formed.
func ResolveID(ctx context.Context, st backup.Store, id string) (string, error) {
	if id != "latest" {
		if !manifest.ValidID(id) {
			return "", inputErrorf("%q is not a backup id (e.g. 20261123T004512Z) or latest", id)
		}
		return id, nil
	}
	entries, err := backup.List(ctx, st)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Restorable() {
			return e.ID, nil
		}
	}
	return "", fmt.Errorf("no complete backup in %s", st)
}

// Grant creates (or re-applies) the stack's least-privilege backup user from its database's master secret,
// through the stack's cloud, and returns the user and the id of the secret now holding its credentials.
func (o *Opener) Grant(ctx context.Context, fl Flags) (user, secretID string, err error) {
	inv, a, err := o.access(ctx, fl)
	if err != nil {
		return "", "", err
	}
	if err := cloud.GrantBackupUser(ctx, a, fl.Stack, inv); err != nil {
		return "", "", err
	}
	return cloud.BackupUser, cloud.BackupUserSecretID(fl.Stack), nil
}

// GrantApp creates (or re-applies) the stack's application user the same way (cloud.GrantAppUser) and
// returns the user and the id of the secret holding its credentials.
func (o *Opener) GrantApp(ctx context.Context, fl Flags) (user, secretID string, err error) {
	inv, a, err := o.access(ctx, fl)
	if err != nil {
		return "", "", err
	}
	if err := cloud.GrantAppUser(ctx, a, fl.Stack, inv); err != nil {
		return "", "", err
	}
	return userdata.AppDBUser, userdata.AppDBSecretID(fl.Stack), nil
}

// access is the stack's inventory and its cloud's way to the database's secrets.
func (o *Opener) access(ctx context.Context, fl Flags) (*contract.Inventory, cloud.BackupAccess, error) {
	if fl.Stack == "" {
		return nil, nil, inputErrorf("--stack is required")
	}
	inv, c, err := o.stack(ctx, Request{Flags: fl})
	if err != nil {
		return nil, nil, err
	}
	a, ok := c.(cloud.BackupAccess)
	if !ok {
		return nil, nil, fmt.Errorf("stack %s: its cloud (%s) cannot reach the database's secrets", fl.Stack, c.Name())
	}
	return inv, a, nil
}
