package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// DrillDatabase makes the drill's own database from production's DR replica, as the stack's cloud does it:
// on AWS an RDS read replica of the DR replica (tagged plinth:drill=<id>) promoted with PromoteReadReplica;
// on MariaDB servers MariaDBReplica below. Production's DR replica is only ever read: it keeps replicating
// through and after the drill.
type DrillDatabase interface {
	// Create makes (idempotently, by drill id) a server replicating from production's DR replica and returns
	// a connection to it and its name for reports (no credentials).
	Create(ctx context.Context, id string) (db *sql.DB, where string, err error)
	// Promote ends its replication for good and makes it a writable primary.
	Promote(ctx context.Context, id string) error
	// Endpoint is the drill database's host:port as the drill stack's hosts reach it.
	Endpoint(id string) string
	TearDowner
}

// ReplicaSource is the data step of `--source replica`: the drill database is created from the DR
// replica, given until CatchUp to hold everything the primary had at T0, promoted with what it has then
// (on a real disaster what reached the DR region is all there is), and the RPO is measured on it. It is
// also the verify step's WriteReader: it reads the application's health row on the drill database, noted
// at the promotion and read again after the verify's answer.
type ReplicaSource struct {
	DB DrillDatabase
	// CatchUp bounds the wait for the drill database to reach T0's GTID position (default 5 minutes).
	CatchUp time.Duration
	// Primary is production's primary: when set, the drill database is promoted at exactly the GTID
	// position of a consistent snapshot of the primary, and its tables are compared with the primary's
	// there (TableMatch). Nil: no comparison.
	Primary *sql.DB
	Log     func(format string, args ...any)

	// Set by Recover: the promoted drill database, its name, and its health row's `at` then.
	appWrite
}

// Recover implements DataSource.
func (r *ReplicaSource) Recover(ctx context.Context, p Plan, t0 T0) (Recovered, error) {
	db, where, err := r.DB.Create(ctx, p.ID)
	if err != nil {
		return Recovered{}, fmt.Errorf("drill database from the DR replica: %w", err)
	}
	catchUp := r.CatchUp
	if catchUp <= 0 {
		catchUp = 5 * time.Minute
	}
	flavor, err := mysqlx.ServerFlavor(ctx, db)
	if err != nil {
		return Recovered{}, fmt.Errorf("drill database %s: %w", where, err)
	}
	start := time.Now()
	err = mysqlx.WaitGTID(ctx, db, flavor, t0.GTID, catchUp)
	reached := err == nil
	switch {
	case errors.Is(err, mysqlx.ErrGTIDWaitTimeout):
		r.logf("drill %s: %s did not reach T0 (%s) within %s: promoted with what it has", p.ID, where, t0.GTID, catchUp)
	case err != nil:
		return Recovered{}, fmt.Errorf("drill database %s: %w", where, err)
	default:
		r.logf("drill %s: %s reached T0 (%s) in %s", p.ID, where, t0.GTID, time.Since(start).Round(time.Millisecond))
	}
	var match *TableMatch
	var source map[string]TableSum
	if r.Primary != nil {
		match = &TableMatch{Against: "production's primary"}
		if !reached {
			match.Skipped = "the drill database did not reach T0"
		} else {
			gtid, sums, skipped, err := alignWithPrimary(ctx, r.Primary, db, flavor, catchUp)
			if err != nil {
				return Recovered{}, fmt.Errorf("drill database %s: %w", where, err)
			}
			match.GTID, match.Skipped, source = gtid, skipped, sums
		}
	}
	if err := r.DB.Promote(ctx, p.ID); err != nil {
		return Recovered{}, fmt.Errorf("promote drill database %s: %w", where, err)
	}
	if source != nil {
		gtid := match.GTID
		_, drillSums, err := snapshotSums(ctx, db)
		if err != nil {
			return Recovered{}, fmt.Errorf("drill database %s: table sums: %w", where, err)
		}
		m := CompareSums(match.Against, gtid, source, drillSums)
		match = &m
		if err := match.Err(where); err != nil {
			return Recovered{}, err
		}
		r.logf("drill %s: %s matches production's primary at %s: %d tables, %d rows (rows and hashes)", p.ID, where, gtid, m.Tables, m.Rows)
	} else if match != nil {
		r.logf("drill %s: tables not compared: %s", p.ID, match.Skipped)
	}
	// Nothing replicates into it any more: the health row's later changes are the drill application's.
	if err := r.note(ctx, db, where); err != nil {
		return Recovered{}, err
	}
	rpo, err := MeasureRPO(ctx, db, p.ID, t0)
	if err != nil {
		return Recovered{}, fmt.Errorf("drill database %s: %w", where, err)
	}
	return Recovered{Where: where, Endpoint: r.DB.Endpoint(p.ID), RPO: rpo, Tables: match}, nil
}

// appWrite is the WriteReader of a data source that made the drill's own database (ReplicaSource, and
// BackupSource with a Server): the application's health row noted when the database is ready for the
// application (promoted; restored), and read again after the verify's answer.
type appWrite struct {
	promoted    *sql.DB
	where       string
	beforeWrite string
}

// note records the health row's `at` on db, ready for the application: nothing else writes there any more.
func (a *appWrite) note(ctx context.Context, db *sql.DB, where string) error {
	before, err := readAppWrite(ctx, db)
	if err != nil {
		return fmt.Errorf("drill database %s: the application's health row: %w", where, err)
	}
	a.promoted, a.where, a.beforeWrite = db, where, before
	return nil
}

// AppWrite implements WriteReader: the application's health row on the drill database.
func (a *appWrite) AppWrite(ctx context.Context, p Plan) (DatabaseWrite, error) {
	if a.promoted == nil {
		return DatabaseWrite{}, fmt.Errorf("drill %s: no drill database was made ready for the application", p.ID)
	}
	w := DatabaseWrite{Where: a.where, Table: userdata.AppSchema + "." + mysqlx.AppHealthTable, Before: a.beforeWrite}
	at, err := readAppWrite(ctx, a.promoted)
	if err != nil {
		return w, fmt.Errorf("drill database %s: %w", a.where, err)
	}
	w.At = at
	return w, nil
}

func (r *ReplicaSource) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
	}
}

// MariaDBReplica is a DrillDatabase on MariaDB servers: Server is an empty server the cloud started for the
// drill (GTIDs on, its own server id); Create points it at the DR replica (which must log the transactions it
// replicates: log_slave_updates, as RDS replicas do) and Promote ends replication in SQL. Teardown stops
// replication and hands the server back to Stop (the cloud removes it); without Stop the server is named as
// left behind.
type MariaDBReplica struct {
	Server *sql.DB
	Where  string
	// Addr is the server's host:port as the drill stack's hosts reach it.
	Addr   string
	Source mysqlx.ReplicationSource
	// Stop removes the drill server (idempotent); nil: the caller removes it.
	Stop func(ctx context.Context) error
	// Wait bounds the start of replication (default 1 minute).
	Wait time.Duration
}

// Create implements DrillDatabase.
func (m *MariaDBReplica) Create(ctx context.Context, _ string) (*sql.DB, string, error) {
	where := m.Where + " (replica of " + m.Source.String() + ")"
	st, err := mysqlx.SlaveStatus(ctx, m.Server)
	if err != nil {
		return nil, where, err
	}
	if st != nil && st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes" &&
		st["Master_Host"] == m.Source.Host && st["Master_Port"] == fmt.Sprint(m.Source.Port) {
		return m.Server, where, nil // a re-run: already replicating
	}
	wait := m.Wait
	if wait <= 0 {
		wait = time.Minute
	}
	if err := mysqlx.StartReplica(ctx, m.Server, m.Source, wait); err != nil {
		return nil, where, err
	}
	return m.Server, where, nil
}

// Endpoint implements DrillDatabase.
func (m *MariaDBReplica) Endpoint(string) string { return m.Addr }

// Promote implements DrillDatabase.
func (m *MariaDBReplica) Promote(ctx context.Context, _ string) error {
	return mysqlx.Promote(ctx, m.Server)
}

// Teardown implements TearDowner: replication ended, the server handed to Stop.
func (m *MariaDBReplica) Teardown(ctx context.Context, _ string) ([]string, error) {
	if m.Stop == nil {
		if err := mysqlx.Promote(ctx, m.Server); err != nil {
			return []string{"database server " + m.Where}, err
		}
		return []string{"database server " + m.Where + " (not removed: the cloud that started it removes it)"}, nil
	}
	if err := m.Stop(ctx); err != nil {
		return []string{"database server " + m.Where}, fmt.Errorf("remove drill database server %s: %w", m.Where, err)
	}
	return nil, nil
}

// appHealthTable is the application's health table, quoted.
var appHealthTable = "`" + userdata.AppSchema + "`.`" + mysqlx.AppHealthTable + "`"

// readAppWrite reads the health row's `at` on db ("" when the table or the row does not exist).
func readAppWrite(ctx context.Context, db *sql.DB) (string, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
		userdata.AppSchema, mysqlx.AppHealthTable).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	var at string
	err := db.QueryRowContext(ctx, "SELECT at FROM "+appHealthTable+" WHERE id = 1").Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return at, err
}
