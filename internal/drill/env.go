package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// EnvConfig is what a command resolved for a real drill. Empty fields leave their steps unavailable.
type EnvConfig struct {
	// PrimaryDSN is production's primary (the heartbeat writer).
	PrimaryDSN string
	// StoreURL is the vault (backups and drill history); IdentityFile the restore identity.
	StoreURL     string
	IdentityFile string
	// HistoryStoreURL is the vault as its writer identity, where the report is created (a restore identity
	// may only read); empty: StoreURL.
	HistoryStoreURL string
	// DRDSN is the DR region's database server a backup is restored into.
	DRDSN string
	// DRReplicaDSN is production's DR replica (read only: its replication is checked by the preflight).
	DRReplicaDSN string
	// DrillDatabase makes the drill database from the DR replica (source replica), as the stack's cloud does;
	// with source backup (and no DRDSN) it makes the empty server the backup is restored into.
	DrillDatabase DrillDatabase
	// DrillURL is the drill load balancer's HTTPS address and DrillCAFile the CA that signs it (empty: the
	// system pool): the verify step asks it until the application answers a write.
	DrillURL    string
	DrillCAFile string
	// Platform builds the drill stack through the `plinth up` engine (nil: the platform step is
	// unavailable); without DrillURL the verify step asks the load balancer it built.
	Platform *StackPlatform
	// Leftovers lists, after every other teardown, what still carries the drill's tag in the stack's cloud
	// (AWS: internal/drill/awsdrill); nil: each teardown's own listing is all there is.
	Leftovers TearDowner
	// Release is production's release (its deploy audit and escrow): checked by the preflight. Deploy
	// rolls it out to the drill stack (nil: the deploy step is unavailable).
	Release *ProductionRelease
	Deploy  Deployer
	Log     func(format string, args ...any)
}

// OpenEnv opens what cfg names and returns the Env of a real drill, with a closer. What plinth cannot yet
// do on any cloud (the DR replica's promotion, the drill stack, its deploy and HTTPS check) stays nil: the
// executor fails that step naming what is missing, and tears down.
func OpenEnv(ctx context.Context, p Plan, cfg EnvConfig) (Env, func(), error) {
	env := Env{Log: cfg.Log}
	var closers []func() error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	var primary *sql.DB
	if cfg.PrimaryDSN != "" {
		db, err := mysqlx.Open(cfg.PrimaryDSN)
		if err != nil {
			return Env{}, closeAll, fmt.Errorf("primary %s: %w", mysqlx.Redact(cfg.PrimaryDSN), err)
		}
		closers = append(closers, db.Close)
		primary = db
		env.Heartbeat = &Heartbeat{DB: db, DrillID: p.ID}
	}
	var st *blobstore.Store
	if cfg.StoreURL != "" {
		s, err := blobstore.Open(ctx, cfg.StoreURL)
		if err != nil {
			closeAll()
			return Env{}, func() {}, err
		}
		closers = append(closers, s.Close)
		st = s
		env.History = History{Store: s}
	}
	if cfg.HistoryStoreURL != "" && cfg.HistoryStoreURL != cfg.StoreURL {
		s, err := blobstore.Open(ctx, cfg.HistoryStoreURL)
		if err != nil {
			closeAll()
			return Env{}, func() {}, err
		}
		closers = append(closers, s.Close)
		env.History = History{Store: s}
	}
	var drReplica *sql.DB
	if cfg.DRReplicaDSN != "" {
		db, err := mysqlx.Open(cfg.DRReplicaDSN)
		if err != nil {
			closeAll()
			return Env{}, func() {}, fmt.Errorf("DR replica %s: %w", mysqlx.Redact(cfg.DRReplicaDSN), err)
		}
		closers = append(closers, db.Close)
		drReplica = db
	}
	pf := preflight{primary: primary, drReplica: drReplica, log: cfg.Log}
	if st != nil { // not a typed nil in the interface: the preflight reports the missing vault
		pf.store = st
	}
	env.Preflight = pf
	if cfg.Release != nil {
		pf.release = true
		env.Preflight = &ReleasePreflight{Inner: pf, Release: cfg.Release, Log: cfg.Log}
	}
	env.Deploy = cfg.Deploy
	if cfg.DrillURL != "" {
		env.Verify = &HTTPSVerifier{URL: cfg.DrillURL, CAFile: cfg.DrillCAFile, Log: cfg.Log}
	}
	if p.Source == SourceReplica && cfg.DrillDatabase != nil {
		env.Data = &ReplicaSource{DB: cfg.DrillDatabase, Primary: primary, Log: cfg.Log}
		env.Teardown = append(env.Teardown, cfg.DrillDatabase)
	}
	if p.Source == SourceBackup && cfg.DRDSN == "" && cfg.DrillDatabase != nil {
		// The stack's cloud makes the drill's own database to restore into, and removes it whatever the
		// drill got to (its teardown is idempotent).
		env.Teardown = append(env.Teardown, cfg.DrillDatabase)
		if st != nil && cfg.IdentityFile != "" {
			ids, err := backup.ReadIdentityFile(cfg.IdentityFile)
			if err != nil {
				closeAll()
				return Env{}, func() {}, err
			}
			env.Data = &BackupSource{Store: st, Identities: ids, Server: cfg.DrillDatabase, Workers: 4, Log: cfg.Log}
		}
	}
	if p.Source == SourceBackup && st != nil && cfg.DRDSN != "" && cfg.IdentityFile != "" {
		ids, err := backup.ReadIdentityFile(cfg.IdentityFile)
		if err != nil {
			closeAll()
			return Env{}, func() {}, err
		}
		dr, err := mysqlx.Open(cfg.DRDSN)
		if err != nil {
			closeAll()
			return Env{}, func() {}, fmt.Errorf("DR server %s: %w", mysqlx.Redact(cfg.DRDSN), err)
		}
		closers = append(closers, dr.Close)
		where := mysqlx.Redact(cfg.DRDSN)
		env.Data = &BackupSource{Store: st, Identities: ids, Target: dr, Where: where, Endpoint: mysqlx.Addr(cfg.DRDSN), Workers: 4}
		env.Teardown = append(env.Teardown, DatabaseTeardown{DB: dr, Where: where})
	}
	if cfg.Platform != nil {
		env.Platform = cfg.Platform
		// Last in the list, first to go: the platform before the database that served it.
		env.Teardown = append(env.Teardown, cfg.Platform)
		if env.Verify == nil {
			env.Verify = &HTTPSVerifier{Resolve: cfg.Platform.Target, Log: cfg.Log}
		}
	}
	// A data source that made the drill's own database (not restored databases on a shared DR server, which
	// the application does not use): the verify step also finds the application's write there.
	sharedServer := false
	if b, ok := env.Data.(*BackupSource); ok && b.Server == nil {
		sharedServer = true
	}
	if wr, ok := env.Data.(WriteReader); ok && !sharedServer {
		if h, ok := env.Verify.(*HTTPSVerifier); ok {
			env.Verify = &WriteVerifier{HTTPS: h, DB: wr, Log: cfg.Log}
		}
	}
	if cfg.Leftovers != nil { // first in the list, last to run
		env.Teardown = append([]TearDowner{cfg.Leftovers}, env.Teardown...)
	}
	return env, closeAll, nil
}

// preflight checks what plinth can check today: the primary answers, and (source backup) the backup to
// restore exists and is intact. DR replica lag and the release from the deploy audit are not checked yet:
// it says so in the log.
type preflight struct {
	primary   *sql.DB
	drReplica *sql.DB
	store     backup.Store
	log       func(string, ...any)
	// release: production's release is checked beside (ReleasePreflight).
	release bool
}

func (f preflight) Preflight(ctx context.Context, p Plan) error {
	var errs []error
	if f.primary == nil {
		errs = append(errs, fmt.Errorf("production's primary: no DSN (set the database credentials or --primary-dsn): %w", ErrUnavailable))
	} else if err := f.primary.PingContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("production's primary: %w", err))
	}
	errs = append(errs, f.checkDRReplica(ctx, p)...)
	if f.store == nil {
		errs = append(errs, fmt.Errorf("the vault: no store URL: %w", ErrUnavailable))
	} else if p.Source == SourceBackup {
		e, err := Pick(ctx, f.store, p.BackupID)
		if err != nil {
			errs = append(errs, err)
		} else if f.log != nil {
			f.log("drill %s: preflight: backup %s (%s)", p.ID, e.ID, e.Time.Format("2006-01-02 15:04Z07:00"))
		}
	}
	if f.log != nil && !f.release {
		f.log("drill %s: preflight: not checked yet: the release production runs (deploy audit) and its artifact in the DR region", p.ID)
	}
	return errors.Join(errs...)
}

// TeardownResult is what `plinth drill teardown` did.
type TeardownResult struct {
	ID   string   `json:"id"`
	Left []string `json:"leftBehind"`
	// NotChecked names what this teardown cannot list on the stack's cloud.
	NotChecked []string `json:"notChecked"`
}

// TeardownDatabases drops drill id's databases on the DR server (idempotent) and lists what remains.
func TeardownDatabases(ctx context.Context, id, drDSN string) (TeardownResult, error) {
	res := TeardownResult{ID: id, Left: []string{}, NotChecked: []string{missing(StepPlatform) + ": " + ErrUnavailable.Error() + " (so no drill created one)"}}
	db, err := mysqlx.Open(drDSN)
	if err != nil {
		return res, fmt.Errorf("DR server %s: %w", mysqlx.Redact(drDSN), err)
	}
	defer db.Close()
	left, err := Teardown(ctx, id, []TearDowner{DatabaseTeardown{DB: db, Where: mysqlx.Redact(drDSN)}})
	res.Left = left
	return res, err
}

// checkDRReplica: a replica-source drill needs production's DR replica replicating; a backup-source drill
// only reports it.
func (f preflight) checkDRReplica(ctx context.Context, p Plan) []error {
	if f.drReplica == nil {
		if p.Source == SourceReplica {
			return []error{fmt.Errorf("production's DR replica: no DSN: %w", ErrUnavailable)}
		}
		return nil
	}
	if f.primary == nil {
		return nil // reported above
	}
	lag, err := CheckDRReplica(ctx, f.primary, f.drReplica)
	if err != nil {
		return []error{err}
	}
	if f.log != nil {
		f.log("drill %s: preflight: DR replica %s", p.ID, lag)
	}
	if !lag.Running && p.Source == SourceReplica {
		return []error{fmt.Errorf("production's DR replica is %s: a drill from it would measure a broken link, not a disaster", lag)}
	}
	return nil
}
