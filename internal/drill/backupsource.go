package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// BackupSource is the data step of `--source backup`: the chosen backup (default: the newest verified) is
// restored by the backup engine and every restored table's rows and hash are checked against the backup's
// manifest. Into the drill's own database when Server is set (the stack's cloud creates it empty and
// writable in the DR region, the databases keep their names, and Server.Promote readies it for the
// application once restored), else into new databases (each backed-up database D as D_<drill suffix>) on
// the shared DR server Target.
type BackupSource struct {
	Store      backup.Store
	Identities backup.Identities
	// Server is the drill database the cloud creates for the restore (its teardown is the cloud's).
	Server DrillDatabase
	// Target is the DR region's database server; Where names it in the report (no credentials).
	Target *sql.DB
	Where  string
	// Endpoint is Target's host:port as the drill stack's hosts reach it.
	Endpoint string
	Workers  int
	Log      backup.Logf
	// Restored receives the engine's verification (tests, views); may be nil.
	Restored *backup.VerifyReport

	// Set by Recover with a Server: the verify step's WriteReader (the application's write on it).
	appWrite
}

// DrillSuffix is what the drill appends to each restored database's name: _drill20261202t174500z.
func DrillSuffix(id string) string {
	return "_" + strings.ToLower(strings.ReplaceAll(id, "-", ""))
}

// Pick returns the backup to restore: id, or the newest complete, intact and verified one.
func Pick(ctx context.Context, st backup.Store, id string) (backup.Entry, error) {
	entries, err := backup.List(ctx, st)
	if err != nil {
		return backup.Entry{}, err
	}
	for _, e := range entries {
		if id != "" && e.ID != id {
			continue
		}
		if id != "" {
			if !e.Restorable() || e.NotIntact() != "" {
				return e, fmt.Errorf("backup %s in %s is not restorable: %s", id, st, firstNonEmpty(e.NotIntact(), e.Problem, "incomplete"))
			}
			return e, nil
		}
		if e.Restorable() && e.NotIntact() == "" && e.Verified.OK() {
			return e, nil
		}
	}
	if id != "" {
		return backup.Entry{}, fmt.Errorf("backup %s: %w in %s", id, backup.ErrNotFound, st)
	}
	return backup.Entry{}, fmt.Errorf("no verified backup in %s: run plinth backup verify first (it marks a backup verified)", st)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Recover restores and checks the backup, then measures RPO as T0 minus the backup's snapshot time,
// cross-checked with the snapshot's GTID against the primary's at T0.
func (b *BackupSource) Recover(ctx context.Context, p Plan, t0 T0) (Recovered, error) {
	e, err := Pick(ctx, b.Store, p.BackupID)
	if err != nil {
		return Recovered{}, err
	}
	target, where, endpoint := b.Target, b.Where, b.Endpoint
	rename := map[string]string{}
	if b.Server != nil {
		if target, where, err = b.Server.Create(ctx, p.ID); err != nil {
			return Recovered{}, fmt.Errorf("drill database to restore backup %s into: %w", e.ID, err)
		}
		endpoint = b.Server.Endpoint(p.ID)
		for _, db := range e.Manifest.Databases {
			rename[db] = db // the drill's own server: the application finds its schema by name
		}
	} else {
		for _, db := range e.Manifest.Databases {
			name := db + DrillSuffix(p.ID)
			if len(name) > 64 {
				return Recovered{}, fmt.Errorf("backup %s: database %s: drill name %s is longer than 64 characters", e.ID, db, name)
			}
			rename[db] = name
		}
	}
	rep, err := backup.Verify(ctx, backup.VerifyOptions{Store: b.Store, ID: e.ID, Identities: b.Identities,
		Workers: b.Workers, RestoreInto: target, Rename: renames(rename), Tool: "plinth drill", Log: b.Log})
	if b.Restored != nil && rep != nil {
		*b.Restored = *rep
	}
	if err != nil {
		return Recovered{}, fmt.Errorf("restore backup %s into %s: %w", e.ID, where, err)
	}
	if !rep.RestoreChecked {
		return Recovered{}, fmt.Errorf("restore backup %s into %s: tables not checked against the manifest", e.ID, where)
	}
	rows := int64(0)
	for _, tc := range rep.Tables {
		if tc.RestoredRows != nil {
			rows += *tc.RestoredRows
		}
	}
	b.logf("drill %s: backup %s restored into %s: %d tables, %d rows, rows and hashes match the manifest (snapshot GTID %s)",
		p.ID, e.ID, where, len(rep.Tables), rows, e.Manifest.Snapshot.GTID)
	if b.Server != nil {
		if err := b.Server.Promote(ctx, p.ID); err != nil {
			return Recovered{}, fmt.Errorf("drill database %s after the restore: %w", where, err)
		}
		// The restored health row is the backup's: a later one is the drill application's write.
		if err := b.note(ctx, target, where); err != nil {
			return Recovered{}, err
		}
	}
	rec, err := ParseGTIDPos(e.Manifest.Snapshot.GTID)
	if err != nil {
		return Recovered{}, fmt.Errorf("backup %s snapshot: %w", e.ID, err)
	}
	// The snapshot holds none of this drill's heartbeats (they start later): every one is lost.
	rpo, err := compareRPO(t0, 0, snapshotTime(e), rec)
	if err != nil {
		return Recovered{}, err
	}
	match := &TableMatch{Against: "backup " + e.ID + "'s manifest", GTID: e.Manifest.Snapshot.GTID, Tables: len(rep.Tables), Rows: rows}
	return Recovered{Where: where + " (" + strings.Join(sortedValues(rename), ", ") + ")", Endpoint: endpoint, RPO: rpo, Tables: match}, nil
}

func (b *BackupSource) logf(format string, args ...any) {
	if b.Log != nil {
		b.Log(format, args...)
	}
}

// renames is the engine's Rename: only the databases whose name changes (nil: none does).
func renames(m map[string]string) map[string]string {
	var out map[string]string
	for from, to := range m {
		if from != to {
			if out == nil {
				out = map[string]string{}
			}
			out[from] = to
		}
	}
	return out
}

// snapshotTime is when the backup's consistent snapshot was taken: its start (the snapshot opens first).
func snapshotTime(e backup.Entry) time.Time {
	if !e.Manifest.StartedAt.IsZero() {
		return e.Manifest.StartedAt
	}
	return e.Time
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sortStrings(out)
	return out
}

// DatabaseTeardown drops the drill's restored databases on a server and lists any that remain. Idempotent.
type DatabaseTeardown struct {
	DB    *sql.DB
	Where string
}

// Teardown drops every database named with the drill's suffix.
func (d DatabaseTeardown) Teardown(ctx context.Context, id string) ([]string, error) {
	names, err := d.list(ctx, id)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, n := range names {
		if _, err := d.DB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+mysqlx.QuoteIdent(n)); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s on %s: %w", n, d.Where, err))
		}
	}
	left, err := d.list(ctx, id)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	out := make([]string, len(left))
	for i, n := range left {
		out[i] = "database " + n + " on " + d.Where
	}
	return out, errors.Join(errs...)
}

func (d DatabaseTeardown) list(ctx context.Context, id string) ([]string, error) {
	suffix := DrillSuffix(id)
	rows, err := d.DB.QueryContext(ctx, "SELECT schema_name FROM information_schema.schemata")
	if err != nil {
		return nil, fmt.Errorf("list databases on %s: %w", d.Where, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list databases on %s: %w", d.Where, err)
		}
		if strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	return out, rows.Err()
}
