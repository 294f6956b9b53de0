package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Store      Store
	ID         string
	Identities Identities
	Target     *sql.DB
	// Rename maps a backed-up database name to the name to restore it under.
	Rename     map[string]string
	Force      bool // replace tables in a non-empty target
	Workers    int  // parallel loads (default 4)
	SkipBinlog bool // SET sql_log_bin = 0 on loading sessions
	Log        Logf
}

// RestoredTable is one table's outcome.
type RestoredTable struct {
	Table string `json:"table"` // target schema.name
	Rows  int64  `json:"rows"`
}

// RestoreReport summarises a restore.
type RestoreReport struct {
	ID       string          `json:"id"`
	Tables   []RestoredTable `json:"tables"`
	Rows     int64           `json:"rows"`
	Bytes    int64           `json:"plainBytes"`
	Duration time.Duration   `json:"durationNs"`
}

func (o RestoreOptions) target(db string) string {
	if n, ok := o.Rename[db]; ok && n != "" {
		return n
	}
	return db
}

// checkRecipients fails fast, before reading data, when none of the identities can open the backup.
func checkRecipients(m *manifest.Manifest, ids Identities) error {
	for _, have := range ids.Fingerprints() {
		for _, want := range m.Recipients {
			if have == want {
				return nil
			}
		}
	}
	return fmt.Errorf("backup %s: %w: the identity file's keys (%s) are not recipients of this backup (%s)",
		m.ID, ErrWrongKey, strings.Join(ids.Fingerprints(), ", "), strings.Join(m.Recipients, ", "))
}

func readSchema(ctx context.Context, st Store, m *manifest.Manifest, ids Identities) (*schemaDoc, error) {
	obj, ok := m.Object(m.Schema)
	if !ok {
		return nil, fmt.Errorf("backup %s: schema object %s missing from manifest", m.ID, m.Schema)
	}
	dec, err := newDecoder()
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	var doc schemaDoc
	err = readObject(ctx, st, m.ID, obj, ids, dec, func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&doc)
	}, nil)
	if err != nil {
		return nil, err
	}
	byName := map[string]bool{}
	for _, t := range doc.Tables {
		byName[t.String()] = true
	}
	for _, t := range m.Tables {
		if !byName[t.String()] {
			return nil, fmt.Errorf("backup %s: object %s: %w: no definition for table %s", m.ID, m.Schema, ErrTampered, t)
		}
	}
	if len(doc.Tables) != len(m.Tables) {
		return nil, fmt.Errorf("backup %s: object %s: %w: %d table definitions, manifest lists %d", m.ID, m.Schema, ErrTampered, len(doc.Tables), len(m.Tables))
	}
	return &doc, nil
}

// Restore loads backup o.ID into o.Target: databases and tables created (secondary indexes deferred to
// after the load), data parts loaded in parallel with LOAD DATA, each part in a transaction committed only
// after its ciphertext matched the manifest. A target holding tables is refused unless Force.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreReport, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	m, _, err := ReadManifest(ctx, o.Store, o.ID)
	if err != nil {
		return nil, err
	}
	if err := checkRecipients(m, o.Identities); err != nil {
		return nil, err
	}
	doc, err := readSchema(ctx, o.Store, m, o.Identities)
	if err != nil {
		return nil, err
	}
	// Refuse to overwrite.
	for _, d := range doc.Databases {
		tdb := o.target(d.Name)
		var n int
		if err := o.Target.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", tdb).Scan(&n); err != nil {
			return nil, fmt.Errorf("restore %s: inspect target %s: %w", m.ID, tdb, err)
		}
		if n > 0 && !o.Force {
			return nil, fmt.Errorf("restore %s: %w: database %s has %d tables; pass --force to replace the backed-up tables", m.ID, ErrTargetNotEmpty, tdb, n)
		}
	}
	setup, err := mysqlx.NewLoader(ctx, o.Target, o.SkipBinlog)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", m.ID, err)
	}
	defer setup.Close()
	partsOf := map[string][]string{}
	for _, t := range m.Tables {
		partsOf[t.String()] = t.Parts
	}
	type tableState struct {
		t       mysqlx.Table
		target  string
		adds    []string
		pending atomic.Int64
		rows    atomic.Int64
	}
	states := make([]*tableState, len(doc.Tables))
	for _, d := range doc.Databases {
		if err := setup.Exec(ctx, d.CreateSQL(o.target(d.Name))); err != nil {
			return nil, fmt.Errorf("restore %s: create database %s: %w", m.ID, o.target(d.Name), err)
		}
	}
	for i, t := range doc.Tables {
		st := &tableState{t: t, target: o.target(t.Schema)}
		create := t.CreateSQL
		if len(partsOf[t.String()]) > 0 {
			create, st.adds = mysqlx.SplitSecondaryIndexes(t.CreateSQL)
		}
		st.pending.Store(int64(len(partsOf[t.String()])))
		if err := setup.Exec(ctx, "USE "+mysqlx.QuoteIdent(st.target)); err != nil {
			return nil, fmt.Errorf("restore %s: %w", m.ID, err)
		}
		if o.Force {
			if err := setup.Exec(ctx, "DROP TABLE IF EXISTS "+mysqlx.QualifiedName(st.target, t.Name)); err != nil {
				return nil, fmt.Errorf("restore %s: drop %s.%s: %w", m.ID, st.target, t.Name, err)
			}
		}
		if err := setup.Exec(ctx, create); err != nil {
			return nil, fmt.Errorf("restore %s: create table %s.%s: %w", m.ID, st.target, t.Name, err)
		}
		states[i] = st
	}
	type job struct {
		st   *tableState
		obj  manifest.Object
		part int
	}
	var jobs []job
	size := map[*tableState]int64{}
	for _, st := range states {
		for i, p := range partsOf[st.t.String()] {
			ob, _ := m.Object(p)
			jobs = append(jobs, job{st: st, obj: ob, part: i})
			size[st] += ob.PlainSize
		}
	}
	// Round-robin over tables (first parts of every table, then second parts, ...), biggest tables first
	// within a round: concurrent loads then mostly go to different tables, which do not contend for locks.
	sort.SliceStable(jobs, func(i, j int) bool {
		if jobs[i].part != jobs[j].part {
			return jobs[i].part < jobs[j].part
		}
		return size[jobs[i].st] > size[jobs[j].st]
	})
	ch := make(chan job)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(ch)
		for _, j := range jobs {
			select {
			case ch <- j:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	var bytes atomic.Int64
	var logMu sync.Mutex
	for w := 0; w < o.Workers; w++ {
		g.Go(func() error {
			l, err := mysqlx.NewLoader(gctx, o.Target, o.SkipBinlog)
			if err != nil {
				return fmt.Errorf("restore %s: %w", m.ID, err)
			}
			defer l.Close()
			dec, err := newDecoder()
			if err != nil {
				return err
			}
			defer dec.Close()
			for j := range ch {
				var loaded int64
				for attempt := 1; ; attempt++ {
					err := loadPart(gctx, o, m.ID, l, dec, j.st.target, j.st.t, j.obj, &loaded)
					if err == nil {
						break
					}
					if mysqlx.IsRetryable(err) && attempt < 6 {
						o.Log.printf("restore %s: %s: %v: retrying (%d)", m.ID, j.obj.Name, err, attempt)
						continue
					}
					return fmt.Errorf("%w (restore stopped: the target is partially restored; fix and rerun with --force)", err)
				}
				bytes.Add(j.obj.PlainSize)
				j.st.rows.Add(loaded)
				if j.st.pending.Add(-1) == 0 {
					loadedAt := time.Since(start)
					if len(j.st.adds) > 0 {
						if err := l.Exec(gctx, mysqlx.AlterAddIndexes(j.st.target, j.st.t.Name, j.st.adds)); err != nil {
							return fmt.Errorf("restore %s: indexes of %s.%s: %w", m.ID, j.st.target, j.st.t.Name, err)
						}
					}
					logMu.Lock()
					o.Log.printf("restore %s: %s.%s: %d rows (loaded at %s, indexed at %s)", m.ID, j.st.target, j.st.t.Name, j.st.rows.Load(),
						loadedAt.Round(time.Second), time.Since(start).Round(time.Second))
					logMu.Unlock()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep := &RestoreReport{ID: m.ID, Tables: []RestoredTable{}, Bytes: bytes.Load()}
	want := map[string]int64{}
	for _, t := range m.Tables {
		want[t.String()] = t.Rows
	}
	for _, st := range states {
		rows := st.rows.Load()
		if rows != want[st.t.String()] {
			return nil, fmt.Errorf("restore %s: table %s: restored %d rows, manifest says %d", m.ID, st.t, rows, want[st.t.String()])
		}
		rep.Tables = append(rep.Tables, RestoredTable{Table: st.target + "." + st.t.Name, Rows: rows})
		rep.Rows += rows
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// loadPart loads one data object in its own transaction, committed only once the object checked out.
func loadPart(ctx context.Context, o RestoreOptions, id string, l *mysqlx.Loader, dec *zstd.Decoder, schema string, t mysqlx.Table, obj manifest.Object, loaded *int64) error {
	if err := l.Exec(ctx, "START TRANSACTION"); err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	err := readObject(ctx, o.Store, id, obj, o.Identities, dec, func(r io.Reader) error {
		n, err := l.Load(ctx, schema, t.Name, t.Columns, r)
		*loaded = n
		if err == nil && n != obj.Rows {
			return fmt.Errorf("loaded %d rows, manifest says %d", n, obj.Rows)
		}
		return err
	}, func() error { return l.Exec(ctx, "COMMIT") })
	if err != nil {
		_ = l.Exec(context.Background(), "ROLLBACK")
	}
	return err
}
