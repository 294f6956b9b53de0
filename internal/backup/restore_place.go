package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// ScratchPrefix starts the name of every schema a restore loads into before moving tables into place (and
// of the one receiving the tables a forced restore replaced). A restore killed outright may leave one
// behind; nothing else uses the prefix, backups skip such schemas, and leftovers may be dropped by hand.
const ScratchPrefix = mysqlx.ScratchPrefix

// placement tracks the scratch schemas of one restore and moves their tables into the targets.
type placement struct {
	o       RestoreOptions
	id      string
	suffix  string
	dbs     []mysqlx.Database
	scratch map[string]string // backed-up database -> scratch schema
	made    []string          // scratch schemas created so far
	created []string          // target databases this restore created
	reverse []string          // the renames undoing place's
	placed  bool
}

// newPlacement refuses a target database that holds tables unless Force, and names the scratch schemas.
func newPlacement(ctx context.Context, o RestoreOptions, id string, doc *schemaDoc) (*placement, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	p := &placement{o: o, id: id, suffix: hex.EncodeToString(b[:]), dbs: doc.Databases, scratch: map[string]string{}}
	for i, d := range doc.Databases {
		tdb := o.target(d.Name)
		n, err := countTables(ctx, o, tdb)
		if err != nil {
			return nil, fmt.Errorf("restore %s: inspect target %s: %w", id, tdb, err)
		}
		if n > 0 && !o.Force {
			return nil, fmt.Errorf("restore %s: %w: database %s has %d tables; pass --force to replace the backed-up tables", id, ErrTargetNotEmpty, tdb, n)
		}
		p.scratch[d.Name] = fmt.Sprintf("%s%s_%d", ScratchPrefix, p.suffix, i)
	}
	return p, nil
}

func countTables(ctx context.Context, o RestoreOptions, db string) (int, error) {
	var n int
	err := o.Target.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db).Scan(&n)
	return n, err
}

func (p *placement) createScratch(ctx context.Context, l *mysqlx.Loader, d mysqlx.Database) error {
	name := p.scratch[d.Name]
	if err := l.Exec(ctx, d.CreateSQL(name)); err != nil {
		return fmt.Errorf("restore %s: create scratch schema %s for %s: %w", p.id, name, p.o.target(d.Name), err)
	}
	p.made = append(p.made, name)
	return nil
}

// place moves every loaded table from its scratch schema into its target database in ONE RENAME TABLE
// statement, which the server applies atomically: either every table is in place or none moved. With
// Force, target tables of the same names move out to a trash schema in that same statement (their
// triggers are dropped first: a table with triggers cannot change schema), dropped with it at the end.
func (p *placement) place(ctx context.Context, l *mysqlx.Loader, tables []mysqlx.Table) error {
	var renames, reverse []string
	move := func(from, to string) {
		renames = append(renames, from+" TO "+to)
		reverse = append([]string{to + " TO " + from}, reverse...)
	}
	for i, d := range p.dbs {
		tdb := p.o.target(d.Name)
		var exists int
		if err := p.o.Target.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", tdb).Scan(&exists); err != nil {
			return fmt.Errorf("restore %s: inspect target %s: %w", p.id, tdb, err)
		}
		if exists == 0 {
			if err := l.Exec(ctx, d.CreateSQL(tdb)); err != nil {
				return fmt.Errorf("restore %s: create database %s: %w", p.id, tdb, err)
			}
			p.created = append(p.created, tdb)
			continue
		}
		if !p.o.Force {
			continue
		}
		have, err := tableNames(ctx, p.o, tdb)
		if err != nil {
			return fmt.Errorf("restore %s: inspect target %s: %w", p.id, tdb, err)
		}
		trash := fmt.Sprintf("%sreplaced_%s_%d", ScratchPrefix, p.suffix, i)
		made := false
		for _, t := range tables {
			if t.Schema != d.Name || !have[t.Name] {
				continue
			}
			if !made {
				if err := l.Exec(ctx, "CREATE DATABASE "+mysqlx.QuoteIdent(trash)); err != nil {
					return fmt.Errorf("restore %s: create schema %s for the replaced tables: %w", p.id, trash, err)
				}
				p.made, made = append(p.made, trash), true
			}
			// A table with triggers cannot move to another schema; they go with the table they belong to.
			if err := p.dropTriggers(ctx, l, tdb, t.Name); err != nil {
				return err
			}
			move(mysqlx.QualifiedName(tdb, t.Name), mysqlx.QualifiedName(trash, t.Name))
		}
	}
	for _, t := range tables {
		move(mysqlx.QualifiedName(p.scratch[t.Schema], t.Name), mysqlx.QualifiedName(p.o.target(t.Schema), t.Name))
	}
	if len(renames) > 0 {
		if err := l.Exec(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
			return fmt.Errorf("restore %s: move tables into place: %w", p.id, err)
		}
	}
	p.reverse, p.placed = reverse, true
	return nil
}

// unplace moves the tables back where they were before place (one atomic RENAME TABLE): the restored
// ones into their scratch schemas, the replaced ones under their names.
func (p *placement) unplace() error {
	if !p.placed || len(p.reverse) == 0 {
		p.placed = false
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := mysqlx.NewLoader(ctx, p.o.Target, p.o.SkipBinlog)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.Exec(ctx, "RENAME TABLE "+strings.Join(p.reverse, ", ")); err != nil {
		return err
	}
	p.placed = false
	return nil
}

func (p *placement) dropTriggers(ctx context.Context, l *mysqlx.Loader, db, table string) error {
	rows, err := p.o.Target.QueryContext(ctx, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?", db, table)
	if err != nil {
		return fmt.Errorf("restore %s: triggers of %s.%s: %w", p.id, db, table, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("restore %s: triggers of %s.%s: %w", p.id, db, table, err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if err := l.Exec(ctx, "DROP TRIGGER IF EXISTS "+mysqlx.QualifiedName(db, n)); err != nil {
			return fmt.Errorf("restore %s: drop trigger %s.%s of the replaced table %s: %w", p.id, db, n, table, err)
		}
	}
	return nil
}

func tableNames(ctx context.Context, o RestoreOptions, db string) (map[string]bool, error) {
	rows, err := o.Target.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// cleanup drops the scratch schemas (empty once placed) and the replaced tables; a failure is reported,
// not fatal: the restore itself is complete.
func (p *placement) cleanup() {
	for _, err := range p.drop(p.made) {
		p.o.Log.printf("restore %s: %v (drop it by hand)", p.id, err)
	}
}

// fail undoes a restore that did not place its tables: it drops the scratch schemas and the target
// databases it created, and says that the target was left as it was.
func (p *placement) fail(cause error) error {
	var errs []error
	if p.placed {
		if err := p.unplace(); err != nil {
			return fmt.Errorf("%w; moving the tables back failed too, the target holds the restored tables: %v", cause, err)
		}
	}
	errs = append(errs, p.drop(p.made)...)
	for _, db := range p.created {
		n, err := countTables(context.Background(), p.o, db)
		if err == nil && n == 0 {
			errs = append(errs, p.drop([]string{db})...)
		}
	}
	targets := make([]string, 0, len(p.dbs))
	for _, d := range p.dbs {
		targets = append(targets, p.o.target(d.Name))
	}
	sort.Strings(targets)
	msg := fmt.Sprintf("nothing was restored: %s left as it was", strings.Join(targets, ", "))
	if len(p.made) > 0 {
		msg += fmt.Sprintf(", scratch schemas %s dropped", strings.Join(p.made, ", "))
	}
	if len(errs) > 0 {
		msg += fmt.Sprintf(" (cleanup: %v)", errors.Join(errs...))
	}
	return fmt.Errorf("%w; %s", cause, msg)
}

// drop removes schemas on a fresh connection (the restore's own may have died with its context).
func (p *placement) drop(dbs []string) []error {
	if len(dbs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := mysqlx.NewLoader(ctx, p.o.Target, p.o.SkipBinlog)
	if err != nil {
		return []error{fmt.Errorf("drop %s: %w", strings.Join(dbs, ", "), err)}
	}
	defer l.Close()
	var errs []error
	for _, db := range dbs {
		if err := l.Exec(ctx, "DROP DATABASE IF EXISTS "+mysqlx.QuoteIdent(db)); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", db, err))
		}
	}
	return errs
}
