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
	// DefinerCurrent makes the restoring user the definer of every view, routine, trigger and event.
	DefinerCurrent bool
	Log            Logf
}

// RestoredTable is one table's outcome.
type RestoredTable struct {
	Table string `json:"table"` // target schema.name
	Rows  int64  `json:"rows"`
}

// RestoreReport summarises a restore.
type RestoreReport struct {
	ID       string           `json:"id"`
	Tables   []RestoredTable  `json:"tables"`
	Rows     int64            `json:"rows"`
	Objects  []RestoredObject `json:"objects"`
	Warnings []string         `json:"warnings,omitempty"`
	Bytes    int64            `json:"plainBytes"`
	Duration time.Duration    `json:"durationNs"`
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
	dec, err := newDecompressor(m.Compression)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", m.ID, err)
	}
	defer dec.close()
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

// Restore loads backup o.ID into o.Target, all or nothing: every database is first restored into a scratch
// schema on the target server (tables created with secondary indexes deferred, data parts loaded in
// parallel with LOAD DATA, each part in a transaction committed only after its ciphertext matched the
// manifest), every table's row count and hash are recomputed there and compared with the manifest, and
// only then one RENAME TABLE statement (atomic) moves every table into place; with Force the tables it
// replaces are moved out in the same statement and dropped afterwards. Any failure before that leaves the
// target exactly as it was and drops the scratch schemas. A target holding tables is refused unless Force.
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
	setup, err := mysqlx.NewLoader(ctx, o.Target, o.SkipBinlog)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", m.ID, err)
	}
	defer setup.Close()
	pl, err := newPlacement(ctx, o, m.ID, doc)
	if err != nil {
		return nil, err
	}
	states, bytes, err := loadScratch(ctx, o, m, doc, setup, pl, start)
	if err == nil {
		err = pl.place(ctx, setup, doc.Tables)
	}
	var objs []RestoredObject
	var warnings []string
	if err == nil {
		objs, warnings, err = createObjects(ctx, o, m.ID, doc.Objects)
	}
	if err != nil {
		return nil, pl.fail(err)
	}
	pl.cleanup()
	for _, w := range warnings {
		o.Log.printf("restore %s: warning: %s", m.ID, w)
	}
	rep := &RestoreReport{ID: m.ID, Tables: []RestoredTable{}, Objects: objs, Warnings: warnings, Bytes: bytes}
	for _, st := range states {
		rows := st.rows.Load()
		rep.Tables = append(rep.Tables, RestoredTable{Table: st.target + "." + st.t.Name, Rows: rows})
		rep.Rows += rows
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

type tableState struct {
	t       mysqlx.Table
	target  string // the database it is restored into
	scratch string // the scratch database it is loaded into first
	adds    []string
	pending atomic.Int64
	rows    atomic.Int64
	want    manifest.Table
}

// loadScratch creates the scratch schemas and tables and loads every part into them, each table checked
// against the manifest (row count and hash) once its last part is in.
func loadScratch(ctx context.Context, o RestoreOptions, m *manifest.Manifest, doc *schemaDoc, setup *mysqlx.Loader, pl *placement, start time.Time) ([]*tableState, int64, error) {
	want := map[string]manifest.Table{}
	for _, t := range m.Tables {
		want[t.String()] = t
	}
	for _, d := range doc.Databases {
		if err := pl.createScratch(ctx, setup, d); err != nil {
			return nil, 0, err
		}
	}
	states := make([]*tableState, len(doc.Tables))
	for i, t := range doc.Tables {
		st := &tableState{t: t, target: o.target(t.Schema), scratch: pl.scratch[t.Schema], want: want[t.String()]}
		create := t.CreateSQL
		if len(st.want.Parts) > 0 {
			create, st.adds = mysqlx.SplitSecondaryIndexes(t.CreateSQL)
		}
		st.pending.Store(int64(len(st.want.Parts)))
		if err := setup.Exec(ctx, "USE "+mysqlx.QuoteIdent(st.scratch)); err != nil {
			return nil, 0, fmt.Errorf("restore %s: %w", m.ID, err)
		}
		if err := setup.Exec(ctx, create); err != nil {
			return nil, 0, fmt.Errorf("restore %s: create table %s.%s (scratch for %s): %w", m.ID, st.scratch, t.Name, st.target, err)
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
		for i, p := range st.want.Parts {
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
			dec, err := newDecompressor(m.Compression)
			if err != nil {
				return fmt.Errorf("restore %s: %w", m.ID, err)
			}
			defer dec.close()
			for j := range ch {
				var loaded int64
				for attempt := 1; ; attempt++ {
					err := loadPart(gctx, o, m.ID, l, dec, j.st.scratch, j.st.t, j.obj, &loaded)
					if err == nil {
						break
					}
					if mysqlx.IsRetryable(err) && attempt < 6 {
						o.Log.printf("restore %s: %s: %v: retrying (%d)", m.ID, j.obj.Name, err, attempt)
						continue
					}
					return err
				}
				bytes.Add(j.obj.PlainSize)
				j.st.rows.Add(loaded)
				if j.st.pending.Add(-1) == 0 {
					loadedAt := time.Since(start)
					if err := finishTable(gctx, o, m.ID, l, j.st); err != nil {
						return err
					}
					logMu.Lock()
					o.Log.printf("restore %s: %s.%s: %d rows (loaded at %s, indexed and checked at %s)", m.ID, j.st.target, j.st.t.Name, j.st.rows.Load(),
						loadedAt.Round(time.Second), time.Since(start).Round(time.Second))
					logMu.Unlock()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("restore %s: %w", m.ID, err)
	}
	for _, st := range states {
		if len(st.want.Parts) == 0 {
			if err := finishTable(ctx, o, m.ID, setup, st); err != nil {
				return nil, 0, err
			}
		}
	}
	return states, bytes.Load(), nil
}

// finishTable adds the deferred indexes of a fully loaded scratch table and checks its row count and hash
// against the manifest.
func finishTable(ctx context.Context, o RestoreOptions, id string, l *mysqlx.Loader, st *tableState) error {
	if len(st.adds) > 0 {
		if err := l.Exec(ctx, mysqlx.AlterAddIndexes(st.scratch, st.t.Name, st.adds)); err != nil {
			return fmt.Errorf("restore %s: indexes of %s.%s: %w", id, st.target, st.t.Name, err)
		}
	}
	def := st.t
	def.Schema = st.scratch
	rows, sum, err := mysqlx.HashTable(ctx, o.Target, def)
	if err != nil {
		return fmt.Errorf("restore %s: table %s: check: %w", id, st.t, err)
	}
	if rows != st.want.Rows || hashString(sum) != st.want.Hash {
		return fmt.Errorf("restore %s: table %s: %w: loaded %d rows hash %s, manifest says %d rows hash %s",
			id, st.t, ErrTampered, rows, hashString(sum), st.want.Rows, st.want.Hash)
	}
	return nil
}

// loadPart loads one data object in its own transaction, committed only once the object checked out.
func loadPart(ctx context.Context, o RestoreOptions, id string, l *mysqlx.Loader, dec decompressor, schema string, t mysqlx.Table, obj manifest.Object, loaded *int64) error {
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
