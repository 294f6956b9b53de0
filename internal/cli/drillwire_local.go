package cli

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/livecloud"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/tlsx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// drillAccess is the Factory's DrillAccess. On the live local cloud, a drill gets: the primary through the
// published bastion as the master user (the heartbeats write; the inventory's backup user only reads),
// production's DR replica and the drill database through the live server's 127.0.0.1 forwards (TLS verified
// with the platforms' CAs), and the drill database made by the server (live.Client.Drill): replicating from
// the DR replica for a replica drill, empty and writable for a backup drill to restore into. Other clouds
// get nothing from here.
func drillAccess(f *cmdutil.Factory) drill.Accessor {
	return func(ctx context.Context, p drill.Plan) (drill.CloudAccess, error) {
		if f.StackCloud == nil {
			return drill.CloudAccess{}, nil
		}
		if c, err := f.StackCloud(ctx, p.Stack); err != nil || c != provision.CloudLocal {
			return drill.CloudAccess{}, err
		}
		lc, err := livecloud.New(f.Getenv)
		if err != nil {
			return drill.CloudAccess{}, err
		}
		outs, err := f.StackOutputs(ctx, p.Stack)
		if err != nil {
			return drill.CloudAccess{}, fmt.Errorf("stack %s: %w", p.Stack, err)
		}
		inv, err := contract.Parse(outs)
		if err != nil {
			return drill.CloudAccess{}, fmt.Errorf("stack %s: %w", p.Stack, err)
		}
		return localDrillAccess(ctx, live.NewClient(live.SocketPath(lc.Dir)), p, inv)
	}
}

func localDrillAccess(ctx context.Context, client *live.Client, p drill.Plan, inv *contract.Inventory) (drill.CloudAccess, error) {
	if inv.Database == nil || inv.Database.MasterSecretARN == "" {
		return drill.CloudAccess{}, fmt.Errorf("stack %s: inventory has no database.masterSecretArn", p.Stack)
	}
	lc := cloud.LocalCloud{}
	secrets, err := lc.Secrets(ctx, p.Stack, inv)
	if err != nil {
		return drill.CloudAccess{}, err
	}
	creds, err := cloud.ReadDBCredentials(ctx, secrets, inv.Database.MasterSecretARN)
	if err != nil {
		return drill.CloudAccess{}, fmt.Errorf("stack %s: master secret: %w", p.Stack, err)
	}
	acc := drill.CloudAccess{Database: &liveDrillDB{client: client, stack: p.Stack, source: p.Source, creds: creds}}
	var closers []func() error
	acc.Close = func() {
		for _, c := range closers {
			_ = c()
		}
	}
	var errs []error
	if conn, err := lc.Database(ctx, p.Stack, inv); err != nil {
		errs = append(errs, fmt.Errorf("primary: %w", err))
	} else {
		closers = append(closers, conn.Close)
		if acc.PrimaryDSN, err = conn.DSN("plinth-drill-"+p.Stack, creds); err != nil {
			errs = append(errs, err)
		}
	}
	if fw, err := client.Drill(ctx, "open", p.Stack, p.ID); err != nil {
		errs = append(errs, fmt.Errorf("DR replica: %w", err))
	} else if acc.DRReplicaDSN, err = forwardDSN("plinth-drill-dr-"+p.Stack, fw.DRReplica, fw.DRReplicaCAFile, creds); err != nil {
		errs = append(errs, err)
	}
	return acc, errors.Join(errs...)
}

// forwardDSN is creds' DSN at a live server's 127.0.0.1 forward, TLS verified with caFile (the server's
// certificate names 127.0.0.1), registered with the driver under name.
func forwardDSN(name, addr, caFile string, creds cloud.DBCredentials) (string, error) {
	pool, err := tlsx.CAPool(caFile)
	if err != nil {
		return "", fmt.Errorf("%s: %w", addr, err)
	}
	if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		return "", fmt.Errorf("%s: tls: %w", addr, err)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.TLSConfig = creds.Username, creds.Password, "tcp", addr, name
	return cfg.FormatDSN(), nil
}

// liveDrillDB is the live local cloud's DrillDatabase: the server creates the drill database replicating
// from production's DR replica (live drilldb.go), promotes it and removes it; plinth reads it (GTID wait,
// the heartbeats) as the master user through the server's forward. For a backup drill the server creates
// it empty and writable (plinth restores into it as the master user) and Promote has it create production's
// application user after the restore.
type liveDrillDB struct {
	client *live.Client
	stack  string
	source string
	creds  cloud.DBCredentials

	mu  sync.Mutex
	db  *sql.DB
	acc live.DrillAccess
}

// Create implements drill.DrillDatabase.
func (l *liveDrillDB) Create(ctx context.Context, id string) (*sql.DB, string, error) {
	acc, err := l.client.DrillRequest(ctx, "database", live.DrillRequest{Stack: l.stack, Drill: id, Source: l.source})
	if err != nil {
		return nil, "drill database of " + id, err
	}
	where := fmt.Sprintf("drill database %s of %s (replica of %s)", acc.Endpoint, acc.DrillStack, acc.DRReplicaAddress)
	if l.source == drill.SourceBackup {
		where = fmt.Sprintf("drill database %s of %s", acc.Endpoint, acc.DrillStack)
	}
	dsn, err := forwardDSN("plinth-"+id, acc.Database, acc.CAFile, l.creds)
	if err != nil {
		return nil, where, err
	}
	db, err := mysqlx.Open(dsn)
	if err != nil {
		return nil, where, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, where, fmt.Errorf("%s: %w", where, err)
	}
	l.mu.Lock()
	l.db, l.acc = db, acc
	l.mu.Unlock()
	return db, where, nil
}

// Promote implements drill.DrillDatabase.
func (l *liveDrillDB) Promote(ctx context.Context, id string) error {
	_, err := l.client.Drill(ctx, "promote", l.stack, id)
	return err
}

// Endpoint implements drill.DrillDatabase.
func (l *liveDrillDB) Endpoint(string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acc.Endpoint
}

// Teardown implements drill.TearDowner: the connection closed, every live part of the drill removed by
// the server (idempotent: a drill it never made, or made before a crash, is fine).
func (l *liveDrillDB) Teardown(ctx context.Context, id string) ([]string, error) {
	l.mu.Lock()
	if l.db != nil {
		_ = l.db.Close()
		l.db = nil
	}
	l.mu.Unlock()
	acc, err := l.client.Drill(ctx, "teardown", l.stack, id)
	if err != nil {
		return []string{"the live parts of drill " + id + " (the live local cloud did not answer)"}, err
	}
	return acc.Left, nil
}
