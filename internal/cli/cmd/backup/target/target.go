// Package target resolves what a backup command works on: the database (DSN) and the vault (store URL),
// from explicit flags or from a stack's `inventory` output.
package target

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
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

// Flags are the target flags shared by the backup verbs.
type Flags struct {
	Stack string
	DSN   string
	Store string
	// Writer: the verb writes new backups (the vault's writer identity; the others read as restore).
	Writer bool
}

// AddStoreFlags registers --stack and --store.
func AddStoreFlags(cmd *cobra.Command, f *Flags) {
	cmd.Flags().StringVarP(&f.Stack, "stack", "s", "", "stack whose inventory names the database and backup vault")
	cmd.Flags().StringVar(&f.Store, "store", "", "backup store URL: gs://bucket[?prefix=p/], s3://bucket?region=r, file:///dir, mem:// (env "+EnvStore+")")
}

// AddDBFlags registers --dsn.
func AddDBFlags(cmd *cobra.Command, f *Flags, usage string) {
	cmd.Flags().StringVar(&f.DSN, "dsn", "", usage+" (go-sql-driver DSN user:pass@tcp(host:3306)/; env "+EnvDSN+" keeps the password out of ps)")
}

// Inventory is the `inventory` stack output (stacks/contract): the database and the backup vault are the
// parts backup reads.
type Inventory = contract.Inventory

// ParseInventory reads the `inventory` output (an object, or its JSON text).
func ParseInventory(outputs map[string]any) (*Inventory, error) {
	inv, err := contract.Parse(outputs)
	if errors.Is(err, contract.ErrNoInventory) {
		return nil, errors.New("stack has no inventory output")
	}
	return inv, err
}

// Resolved is the outcome of resolution.
type Resolved struct {
	DSN      string
	StoreURL string
}

// Resolve fills DSN (when needDB) and store URL from flags, then the environment, then the stack.
func Resolve(ctx context.Context, f *cmdutil.Factory, fl Flags, needDB, needStore bool) (Resolved, error) {
	r := Resolved{DSN: fl.DSN, StoreURL: fl.Store}
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if r.DSN == "" {
		r.DSN = getenv(EnvDSN)
	}
	if r.StoreURL == "" {
		r.StoreURL = getenv(EnvStore)
	}
	if fl.Stack != "" && ((needDB && r.DSN == "") || (needStore && r.StoreURL == "")) {
		if f.StackOutputs == nil {
			return r, cmdutil.ErrNoStackOutputs
		}
		outs, err := f.StackOutputs(ctx, fl.Stack)
		if err != nil {
			return r, fmt.Errorf("stack %s: %w", fl.Stack, err)
		}
		inv, err := ParseInventory(outs)
		if err != nil {
			return r, fmt.Errorf("stack %s: %w", fl.Stack, err)
		}
		c, err := cloud.For(ctx, f.StackCloud, fl.Stack)
		if err != nil {
			return r, err
		}
		a, access := c.(cloud.BackupAccess) // the stack's secrets and its way to the database (internal/cloud)
		if needStore && r.StoreURL == "" && access {
			if r.StoreURL, err = a.BackupStoreAs(ctx, fl.Stack, inv, vaultIdentity(fl)); err != nil {
				return r, err
			}
		}
		if needDB && r.DSN == "" && access && getenv(EnvDBUser) == "" {
			if r.DSN, _, err = cloud.BackupDSN(ctx, a, fl.Stack, inv); err != nil {
				return r, err
			}
		}
		if needStore && r.StoreURL == "" {
			if r.StoreURL, err = c.BackupStore(fl.Stack, inv); err != nil {
				return r, err
			}
		}
		if needDB && r.DSN == "" {
			addr, err := c.DatabaseAddr(fl.Stack, inv)
			if err != nil {
				return r, err
			}
			user := getenv(EnvDBUser)
			if user == "" {
				return r, fmt.Errorf("stack %s: set %s and %s (the credentials of the backup user)", fl.Stack, EnvDBUser, EnvDBPass)
			}
			r.DSN = mysqlx.DSN(addr, user, getenv(EnvDBPass))
		}
	}
	if needDB && r.DSN == "" {
		return r, cmdutil.FlagErrorf("no database: pass --dsn, set %s, or --stack", EnvDSN)
	}
	if needStore && r.StoreURL == "" {
		return r, cmdutil.FlagErrorf("no backup store: pass --store URL, set %s, or --stack", EnvStore)
	}
	return r, nil
}

// vaultIdentity is the vault identity of the verb: the writer creates backups, the rest read.
func vaultIdentity(fl Flags) string {
	if fl.Writer {
		return cloud.VaultWriter
	}
	return cloud.VaultRestore
}

// Open resolves the target (the DSN too when needDB) and opens the store; the caller closes it.
func Open(ctx context.Context, f *cmdutil.Factory, fl Flags, needDB bool) (Resolved, *blobstore.Store, error) {
	res, err := Resolve(ctx, f, fl, needDB, true)
	if err != nil {
		return res, nil, err
	}
	st, err := blobstore.Open(ctx, res.StoreURL)
	return res, st, err
}

// Backup is one backup opened for reading: its store, its resolved ID and the identities that decrypt it.
type Backup struct {
	Resolved   Resolved
	Store      *blobstore.Store
	ID         string
	Identities backup.Identities
}

// OpenBackup is what verify and restore do before reading a backup: read the identity file, resolve the
// target (the DSN too when needDB), open the store and resolve id ("latest" included). The caller closes
// Store.
func OpenBackup(ctx context.Context, f *cmdutil.Factory, fl Flags, needDB bool, identityFile, id string) (*Backup, error) {
	ids, err := backup.ReadIdentityFile(identityFile)
	if err != nil {
		return nil, err
	}
	res, st, err := Open(ctx, f, fl, needDB)
	if err != nil {
		return nil, err
	}
	resolved, err := ResolveID(ctx, st, id)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Backup{Resolved: res, Store: st, ID: resolved, Identities: ids}, nil
}

// Context returns ctx, or a background context when the command was run without one (tests).
func Context(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// ResolveID turns "latest" into the newest restorable backup's ID.
func ResolveID(ctx context.Context, st backup.Store, id string) (string, error) {
	if id != "latest" {
		if !manifest.ValidID(id) {
			return "", cmdutil.FlagErrorf("%q is not a backup id (e.g. 20261123T004512Z) or latest", id)
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

// ParseRename parses old=new pairs.
func ParseRename(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" {
			return nil, cmdutil.FlagErrorf("--rename %q: want backed-up-db=target-db", p)
		}
		out[from] = to
	}
	return out, nil
}

// Logger writes progress lines to w (stderr) unless quiet.
func Logger(w interface{ Write([]byte) (int, error) }, quiet bool) backup.Logf {
	if quiet {
		return nil
	}
	return func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
}

// AddRecipientFlags registers --recipient and --recipients-file.
func AddRecipientFlags(cmd *cobra.Command, keys *[]string, file *string) {
	cmd.Flags().StringArrayVarP(keys, "recipient", "r", nil, "age X25519 public key to encrypt to (repeatable)")
	cmd.Flags().StringVar(file, "recipients-file", "", "file of age public keys, one per line")
}

// Recipients parses the --recipient keys and the keys of --recipients-file (a bad key is a usage error).
func Recipients(keys []string, file string) (backup.Recipients, error) {
	all := append([]string{}, keys...)
	if file != "" {
		more, err := backup.ReadRecipientsFile(file)
		if err != nil {
			return backup.Recipients{}, err
		}
		all = append(all, more...)
	}
	r, err := backup.ParseRecipients(all)
	if err != nil {
		return backup.Recipients{}, cmdutil.FlagErrorf("%v", err)
	}
	return r, nil
}
