package backup

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// DefaultPartSize is the plaintext size at which a table's stream rolls over to a new object.
const DefaultPartSize = 64 << 20

// RunOptions configure one backup.
type RunOptions struct {
	DB         *sql.DB
	Address    string // the server, for the manifest (no credentials)
	Store      Store
	Recipients Recipients
	Databases  []string // empty: every non-system database
	Workers    int      // parallel table streams (default 4)
	PartSize   int64    // default DefaultPartSize
	Level      zstd.EncoderLevel
	Tool       string
	Now        func() time.Time
	Log        Logf
	// Notes, when set, receives what the backup holds besides tables and what it could not hold.
	Notes *RunNotes
}

// RunNotes are reported with a finished backup.
type RunNotes struct {
	// Objects counts the views, routines, triggers and events backed up, by kind.
	Objects map[string]int `json:"objects"`
	// Warnings name what the backup cannot hold consistently or at all (non-transactional tables, ...).
	Warnings []string `json:"warnings"`
}

// schemaDoc is the content of the schema object.
type schemaDoc struct {
	Databases []mysqlx.Database `json:"databases"`
	Tables    []mysqlx.Table    `json:"tables"`
	// Objects: views, routines, triggers, events, in creation order (absent from backups before they were kept).
	Objects []mysqlx.Object `json:"objects,omitempty"`
}

// Run takes a backup and returns its manifest. On any failure nothing is committed: the manifest is the
// last object written, so an interrupted backup stays incomplete (never listed as restorable; pruned).
func Run(ctx context.Context, o RunOptions) (*manifest.Manifest, error) {
	if o.Recipients.Len() == 0 {
		return nil, fmt.Errorf("backup: no recipients")
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.Level == 0 {
		o.Level = zstd.SpeedDefault
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := o.Now().UTC().Truncate(time.Second)
	id := manifest.NewID(started)
	if existing, err := o.Store.List(ctx, id+"/"); err != nil {
		return nil, fmt.Errorf("backup %s: store %s: %w", id, o.Store, err)
	} else if len(existing) > 0 {
		return nil, fmt.Errorf("backup %s: already exists in %s", id, o.Store)
	}
	snap, err := mysqlx.BeginSnapshot(ctx, o.DB, o.Databases, o.Workers)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", id, o.Address, err)
	}
	defer snap.Close()
	o.Log.printf("backup %s: snapshot at %s:%d gtid %q, %d tables, %d views/routines/triggers/events", id, snap.Position.BinlogFile, snap.Position.BinlogPos, snap.Position.GTID, len(snap.Tables), len(snap.Objects))
	for _, w := range snap.Warnings {
		o.Log.printf("backup %s: warning: %s", id, w)
	}
	if o.Notes != nil {
		o.Notes.Objects, o.Notes.Warnings = map[string]int{}, append([]string{}, snap.Warnings...)
		for _, ob := range snap.Objects {
			o.Notes.Objects[ob.Kind]++
		}
	}

	m := &manifest.Manifest{
		FormatVersion: manifest.FormatVersion, ID: id, ToolVersion: o.Tool, StartedAt: started,
		Source:      manifest.Source{Address: o.Address, ServerVersion: snap.ServerVersion},
		Snapshot:    manifest.Position{BinlogFile: snap.Position.BinlogFile, BinlogPos: snap.Position.BinlogPos, GTID: snap.Position.GTID},
		Compression: manifest.CompressionZstd, Encryption: manifest.EncryptionAgeX25,
		Recipients: o.Recipients.Fingerprints(), Schema: manifest.SchemaName,
		Databases: []string{}, Tables: []manifest.Table{}, Objects: []manifest.Object{},
	}
	for _, d := range snap.Databases {
		m.Databases = append(m.Databases, d.Name)
	}

	newEncoder := func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(o.Level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
	}
	enc, err := newEncoder()
	if err != nil {
		return nil, fmt.Errorf("backup %s: zstd: %w", id, err)
	}
	schema, err := json.Marshal(schemaDoc{Databases: snap.Databases, Tables: snap.Tables, Objects: snap.Objects})
	if err != nil {
		return nil, fmt.Errorf("backup %s: schema: %w", id, err)
	}
	sw, err := newObjWriter(ctx, o.Store, id, manifest.SchemaName, o.Recipients, enc, bufio.NewWriterSize(nil, 64<<10))
	if err != nil {
		return nil, err
	}
	if _, err := sw.Write(schema); err != nil {
		sw.abort()
		return nil, fmt.Errorf("backup %s: object %s: %w", id, manifest.SchemaName, err)
	}
	schemaObj, err := sw.finish(id)
	if err != nil {
		return nil, err
	}

	// Largest tables first, so the longest stream starts at once.
	order := make([]int, len(snap.Tables))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return snap.Tables[order[a]].DataLength > snap.Tables[order[b]].DataLength })
	jobs := make(chan int)
	tables := make([]manifest.Table, len(snap.Tables))
	parts := make([][]manifest.Object, len(snap.Tables))
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		for _, i := range order {
			select {
			case jobs <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for w := 0; w < snap.Workers(); w++ {
		g.Go(func() error {
			zw, err := newEncoder()
			if err != nil {
				return fmt.Errorf("backup %s: zstd: %w", id, err)
			}
			buf := bufio.NewWriterSize(nil, 256<<10)
			for i := range jobs {
				t := snap.Tables[i]
				tab, objs, err := dumpTable(gctx, o, snap, w, id, t, zw, buf)
				if err != nil {
					return err
				}
				mu.Lock()
				tables[i], parts[i] = tab, objs
				done++
				o.Log.printf("backup %s: %s: %d rows in %d objects (%d/%d tables)", id, t, tab.Rows, len(objs), done, len(snap.Tables))
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	m.Objects = append(m.Objects, schemaObj)
	for i := range tables {
		m.Tables = append(m.Tables, tables[i])
		m.Objects = append(m.Objects, parts[i]...)
	}
	m.CompletedAt = o.Now().UTC().Truncate(time.Second)
	if m.CompletedAt.Before(m.StartedAt) {
		m.CompletedAt = m.StartedAt
	}
	body, err := manifest.Encode(m)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	// The sealed copy first, then the plaintext commit marker.
	sealed, err := newObjWriter(ctx, o.Store, id, manifest.SealedName, o.Recipients, nil, bufio.NewWriterSize(nil, 64<<10))
	if err != nil {
		return nil, err
	}
	if _, err := sealed.Write(body); err != nil {
		sealed.abort()
		return nil, fmt.Errorf("backup %s: object %s: %w", id, manifest.SealedName, err)
	}
	if _, err := sealed.finish(id); err != nil {
		return nil, err
	}
	if err := putPlain(ctx, o.Store, objectKey(id, manifest.ManifestName), body); err != nil {
		return nil, fmt.Errorf("backup %s: commit: %w", id, err)
	}
	return m, nil
}

func putPlain(ctx context.Context, st Store, key string, body []byte) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func dumpTable(ctx context.Context, o RunOptions, snap *mysqlx.Snapshot, w int, id string, t mysqlx.Table, zw *zstd.Encoder, buf *bufio.Writer) (manifest.Table, []manifest.Object, error) {
	var (
		objs []manifest.Object
		cur  *objWriter
		err  error
	)
	emit := func(line []byte) error {
		if cur == nil {
			cur, err = newObjWriter(ctx, o.Store, id, dataName(t.Schema, t.Name, len(objs)), o.Recipients, zw, buf)
			if err != nil {
				return err
			}
		}
		if _, err := cur.Write(line); err != nil {
			return fmt.Errorf("backup %s: object %s: %w", id, cur.name, err)
		}
		cur.rows++
		if cur.plain >= o.PartSize {
			obj, err := cur.finish(id)
			cur = nil
			if err != nil {
				return err
			}
			objs = append(objs, obj)
		}
		return nil
	}
	rows, sum, err := snap.DumpTable(ctx, w, t, emit)
	if err != nil {
		if cur != nil {
			cur.abort()
		}
		return manifest.Table{}, nil, fmt.Errorf("backup %s: table %s: %w", id, t, err)
	}
	if cur != nil {
		obj, err := cur.finish(id)
		if err != nil {
			return manifest.Table{}, nil, err
		}
		objs = append(objs, obj)
	}
	tab := manifest.Table{Schema: t.Schema, Name: t.Name, Rows: rows, Hash: hashString(sum), Parts: []string{}}
	for _, ob := range objs {
		tab.Parts = append(tab.Parts, ob.Name)
	}
	return tab, objs, nil
}

func hashString(sum uint64) string {
	s := strconv.FormatUint(sum, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}
