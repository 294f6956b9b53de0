package backup

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// DefaultPartSize is the plaintext size at which a table's stream rolls over to a new object.
const DefaultPartSize = 64 << 20

// RunOptions configure one backup.
type RunOptions struct {
	DB *sql.DB
	// DSN is the one DB was opened with: the snapshot's workers read rows at the protocol level over TCP or
	// a unix socket (mysqlx/wire.go); empty or another network (a dialer registered with the driver): through DB.
	DSN        string
	Address    string // the server, for the manifest (no credentials)
	Store      Store
	Recipients Recipients
	Databases  []string // empty: every non-system database
	Workers    int      // parallel table streams (default 4)
	PartSize   int64    // default DefaultPartSize
	// Compression of every object (the manifest records its codec); zero: DefaultCompressionName.
	Compression Compression
	Tool        string
	Now         func() time.Time
	Log         Logf
	// ChunkRows splits a table holding more rows than this (server estimate) into primary-key ranges
	// dumped by several workers; 0: about PartSize of rows (from the average row length); < 0: never.
	ChunkRows int64
	// Notes, when set, receives what the backup holds besides tables and what it could not hold.
	Notes *RunNotes
	// OncePer, when set, first claims the period of that length holding Now for Holder (ClaimSlot): a
	// scheduled run on every worker of a tier takes one backup per period; the others return ErrSlotTaken.
	OncePer time.Duration
	Holder  string
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
	o.Compression = o.Compression.orDefault()
	if o.OncePer > 0 {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		if err := ClaimSlot(ctx, o.Store, o.OncePer, now(), o.Holder); err != nil {
			return nil, err
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := o.Now().UTC().Truncate(time.Second)
	id := manifest.NewID(started)
	if existing, err := o.Store.List(ctx, id+"/"); errors.Is(err, blobstore.ErrPermissionDenied) {
		// A write-only identity (the vault's writer) may not list: the vault refuses to overwrite instead.
		o.Log.printf("backup %s: the store does not let this identity list; relying on it refusing overwrites", id)
	} else if err != nil {
		return nil, fmt.Errorf("backup %s: store %s: %w", id, o.Store, err)
	} else if len(existing) > 0 {
		return nil, fmt.Errorf("backup %s: already exists in %s", id, o.Store)
	}
	snap, err := mysqlx.BeginSnapshot(ctx, o.DB, o.DSN, o.Databases, o.Workers)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", id, o.Address, err)
	}
	defer snap.Close()
	o.Log.printf("backup %s: snapshot at %s:%d gtid %q, %d tables, %d views/routines/triggers/events", id, snap.Position.BinlogFile, snap.Position.BinlogPos, snap.Position.GTID, len(snap.Tables), len(snap.Objects))
	if snap.Reader != "protocol" {
		o.Log.printf("backup %s: rows read through the driver (slower): %s", id, snap.Reader)
	}
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
		Source: manifest.Source{Address: o.Address, ServerVersion: snap.ServerVersion},
		Snapshot: manifest.Position{BinlogFile: snap.Position.BinlogFile, BinlogPos: snap.Position.BinlogPos, GTID: snap.Position.GTID,
			At: snap.Position.Time},
		Compression: o.Compression.Codec, Encryption: manifest.EncryptionAgeX25,
		Recipients: o.Recipients.Fingerprints(), Schema: manifest.SchemaObject(o.Compression.Codec),
		Databases: []string{}, Tables: []manifest.Table{}, Objects: []manifest.Object{},
	}
	for _, d := range snap.Databases {
		m.Databases = append(m.Databases, d.Name)
	}

	enc, err := o.Compression.newCompressor()
	if err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", id, o.Compression, err)
	}
	schema, err := json.Marshal(schemaDoc{Databases: snap.Databases, Tables: snap.Tables, Objects: snap.Objects})
	if err != nil {
		return nil, fmt.Errorf("backup %s: schema: %w", id, err)
	}
	sw, err := newObjWriter(ctx, o.Store, id, m.Schema, o.Recipients, enc, bufio.NewWriterSize(nil, 64<<10))
	if err != nil {
		return nil, err
	}
	if _, err := sw.Write(schema); err != nil {
		sw.abort()
		return nil, fmt.Errorf("backup %s: object %s: %w", id, m.Schema, err)
	}
	schemaObj, err := sw.finish(id)
	if err != nil {
		return nil, err
	}

	jobs, err := planDump(ctx, o, snap, id)
	if err != nil {
		return nil, err
	}
	type tableAcc struct {
		rows    int64
		sum     uint64
		pending int
		chunks  [][]manifest.Object
	}
	accs := make([]*tableAcc, len(snap.Tables))
	for i := range accs {
		accs[i] = &tableAcc{}
	}
	for _, j := range jobs {
		accs[j.table].pending++
		accs[j.table].chunks = append(accs[j.table].chunks, nil)
	}
	ch := make(chan dumpJob)
	var mu sync.Mutex
	done := 0
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
	for w := 0; w < snap.Workers(); w++ {
		g.Go(func() error {
			zw, err := o.Compression.newCompressor()
			if err != nil {
				return fmt.Errorf("backup %s: %s: %w", id, o.Compression, err)
			}
			buf := bufio.NewWriterSize(nil, 256<<10)
			for j := range ch {
				t := snap.Tables[j.table]
				rows, sum, objs, err := dumpChunk(gctx, o, snap, w, id, t, j, zw, buf)
				if err != nil {
					return err
				}
				mu.Lock()
				a := accs[j.table]
				a.rows, a.sum, a.chunks[j.chunk] = a.rows+rows, a.sum+sum, objs
				if a.pending--; a.pending == 0 {
					done++
					o.Log.printf("backup %s: %s: %d rows in %d chunk(s) (%d/%d tables)", id, t, a.rows, len(a.chunks), done, len(snap.Tables))
				}
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
	tables := make([]manifest.Table, len(snap.Tables))
	parts := make([][]manifest.Object, len(snap.Tables))
	for i, t := range snap.Tables {
		a := accs[i]
		tables[i] = manifest.Table{Schema: t.Schema, Name: t.Name, Rows: a.rows, Hash: hashString(a.sum), Parts: []string{}}
		for _, c := range a.chunks {
			for _, ob := range c {
				tables[i].Parts = append(tables[i].Parts, ob.Name)
				parts[i] = append(parts[i], ob)
			}
		}
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

// dumpChunk streams one job (a whole table, or one primary-key range of it) into data objects of about
// PartSize plaintext bytes each, returning its rows, their hash sum and the objects.
func dumpChunk(ctx context.Context, o RunOptions, snap *mysqlx.Snapshot, w int, id string, t mysqlx.Table, j dumpJob, zw compressor, buf *bufio.Writer) (int64, uint64, []manifest.Object, error) {
	var (
		objs []manifest.Object
		cur  *objWriter
		err  error
	)
	emit := func(line []byte) error {
		if cur == nil {
			ext := o.Compression.objectExt()
			name := dataName(t.Schema, t.Name, len(objs), ext)
			if j.chunked {
				name = chunkName(t.Schema, t.Name, j.chunk, len(objs), ext)
			}
			cur, err = newObjWriter(ctx, o.Store, id, name, o.Recipients, zw, buf)
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
	rows, sum, err := snap.DumpRange(ctx, w, t, j.r, emit)
	if err != nil {
		if cur != nil {
			cur.abort()
		}
		return 0, 0, nil, fmt.Errorf("backup %s: table %s: %w", id, t, err)
	}
	if cur != nil {
		obj, err := cur.finish(id)
		if err != nil {
			return 0, 0, nil, err
		}
		objs = append(objs, obj)
	}
	return rows, sum, objs, nil
}

func hashString(sum uint64) string {
	s := strconv.FormatUint(sum, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}
