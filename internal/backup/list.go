package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/blobstore"
)

// Entry is one backup found in a store.
type Entry struct {
	ID        string             `json:"id"`
	Time      time.Time          `json:"time"`
	Complete  bool               `json:"complete"`
	Verified  *manifest.Verified `json:"verified,omitempty"`
	Manifest  *manifest.Manifest `json:"-"`
	Objects   int                `json:"objects"`
	Size      int64              `json:"size"`
	LastWrite time.Time          `json:"lastWrite"`
	Problem   string             `json:"problem,omitempty"`
	// Damaged lists what the listing shows wrong against the manifest (missing objects, wrong sizes).
	Damaged    []string `json:"damaged,omitempty"`
	Rows       int64    `json:"rows,omitempty"`
	Tables     int      `json:"tables,omitempty"`
	GTID       string   `json:"gtid,omitempty"`
	BinlogFile string   `json:"binlogFile,omitempty"`
	BinlogPos  uint64   `json:"binlogPos,omitempty"`
}

// Restorable reports whether the entry has a readable manifest.
func (e Entry) Restorable() bool { return e.Complete && e.Manifest != nil }

// NotIntact says why a complete backup is known not to be intact (an unreadable manifest, objects
// missing or of the wrong size, a failed verification), or "" when nothing is known against it.
func (e Entry) NotIntact() string {
	switch {
	case !e.Complete:
		return ""
	case e.Problem != "":
		return "manifest unreadable: " + e.Problem
	case len(e.Damaged) > 0:
		s := e.Damaged[0]
		if len(e.Damaged) > 1 {
			s += fmt.Sprintf(" (and %d more)", len(e.Damaged)-1)
		}
		return s
	case e.Verified != nil && e.Verified.Failed:
		return fmt.Sprintf("verification failed at %s: %s", e.Verified.VerifiedAt.UTC().Format(time.RFC3339), e.Verified.Error)
	}
	return ""
}

// ReadManifest loads and validates backup id's manifest, returning it and its exact bytes.
func ReadManifest(ctx context.Context, st Store, id string) (*manifest.Manifest, []byte, error) {
	if !manifest.ValidID(id) {
		return nil, nil, fmt.Errorf("backup %q: not a backup id (want e.g. 20261123T004512Z)", id)
	}
	rc, err := st.Open(ctx, objectKey(id, manifest.ManifestName))
	if err != nil {
		if errors.Is(err, blobstore.ErrNotFound) {
			objs, lerr := st.List(ctx, id+"/")
			if lerr == nil && len(objs) == 0 {
				return nil, nil, fmt.Errorf("backup %s: %w in %s", id, ErrNotFound, st)
			}
			return nil, nil, fmt.Errorf("backup %s: %w (%s missing: the backup was interrupted or is still running; it is never restorable)", id, ErrIncomplete, manifest.ManifestName)
		}
		return nil, nil, fmt.Errorf("backup %s: object %s: %w", id, manifest.ManifestName, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, manifest.MaxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("backup %s: object %s: read: %w", id, manifest.ManifestName, err)
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("backup %s: object %s: %w", id, manifest.ManifestName, err)
	}
	if m.ID != id {
		return nil, nil, fmt.Errorf("backup %s: object %s: %w: it describes backup %s", id, manifest.ManifestName, ErrTampered, m.ID)
	}
	return m, body, nil
}

// List returns every backup in the store, newest first, complete or not.
func List(ctx context.Context, st Store) ([]Entry, error) {
	dirs, err := st.Dirs(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", st, err)
	}
	var out []Entry
	for _, id := range dirs {
		ts, ok := manifest.TimeOfID(id)
		if !ok {
			continue
		}
		objs, err := st.List(ctx, id+"/")
		if err != nil {
			return nil, fmt.Errorf("list backup %s in %s: %w", id, st, err)
		}
		e := Entry{ID: id, Time: ts, Objects: len(objs)}
		hasVerified := false
		stored := make(map[string]int64, len(objs))
		for _, ob := range objs {
			stored[strings.TrimPrefix(ob.Key, id+"/")] = ob.Size
			e.Size += ob.Size
			if ob.ModTime.After(e.LastWrite) {
				e.LastWrite = ob.ModTime
			}
			switch ob.Key {
			case objectKey(id, manifest.ManifestName):
				e.Complete = true
			case objectKey(id, manifest.VerifiedName):
				hasVerified = true
			}
		}
		if e.Complete {
			m, _, err := ReadManifest(ctx, st, id)
			if err != nil {
				e.Problem = err.Error()
			} else {
				e.Manifest, e.Rows, e.Tables = m, m.Rows(), len(m.Tables)
				e.GTID, e.BinlogFile, e.BinlogPos = m.Snapshot.GTID, m.Snapshot.BinlogFile, m.Snapshot.BinlogPos
				e.Damaged = m.CheckStored(stored)
			}
		}
		if hasVerified && e.Complete {
			e.Verified = readVerified(ctx, st, id)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func readVerified(ctx context.Context, st Store, id string) *manifest.Verified {
	rc, err := st.Open(ctx, objectKey(id, manifest.VerifiedName))
	if err != nil {
		return nil
	}
	defer rc.Close()
	var v manifest.Verified
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&v); err != nil || v.ID != id {
		return nil
	}
	return &v
}

// PruneOptions configure a prune.
type PruneOptions struct {
	Store  Store
	Policy retention.Policy
	Now    time.Time
	DryRun bool
	Log    Logf
}

// PruneReport is what a prune decided and did.
type PruneReport struct {
	Decisions []retention.Decision `json:"decisions"`
	Removed   []string             `json:"removed"`
	// Segments are the binlog segments no kept backup needs (wholly inside the oldest kept snapshot):
	// removed, or to be removed on a dry run.
	Segments []int64 `json:"segments"`
	// Leftovers are binlog objects no chain needs (binlogLeftovers): orphaned segment data, stale beats.
	Leftovers []string `json:"leftovers,omitempty"`
	DryRun    bool     `json:"dryRun"`
}

// Prune applies the retention policy. A removed backup loses its manifest first (so it can never be
// half-deleted yet listed as complete), then its other objects.
func Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	if err := o.Policy.Validate(); err != nil {
		return nil, err
	}
	entries, err := List(ctx, o.Store)
	if err != nil {
		return nil, err
	}
	bs := make([]retention.Backup, 0, len(entries))
	for _, e := range entries {
		lw := e.LastWrite
		if lw.IsZero() {
			lw = e.Time
		}
		bs = append(bs, retention.Backup{ID: e.ID, Time: e.Time, Complete: e.Complete, Verified: e.Verified.OK(),
			NotIntact: e.NotIntact(), LastWrite: lw})
	}
	ds, err := retention.Apply(bs, o.Policy, o.Now)
	if ds == nil {
		return nil, err
	}
	rep := &PruneReport{Decisions: ds, Removed: []string{}, Segments: []int64{}, DryRun: o.DryRun}
	if err != nil {
		// A refusal (no intact backup would remain) is the same decision with or without --dry-run.
		return rep, err
	}
	segs, err := unneededSegments(ctx, o.Store, entries, ds)
	if err != nil {
		return rep, err
	}
	for _, s := range segs {
		rep.Segments = append(rep.Segments, s.Seq)
	}
	if rep.Leftovers, err = binlogLeftovers(ctx, o.Store); err != nil {
		return rep, err
	}
	if o.DryRun {
		return rep, nil
	}
	var errs []error
	for _, d := range ds {
		if d.Keep {
			continue
		}
		if err := removeBackup(ctx, o.Store, d.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Removed = append(rep.Removed, d.ID)
		o.Log.printf("prune: removed %s (%s)", d.ID, joinReasons(d.Reasons))
	}
	for _, s := range segs {
		if err := removeSegment(ctx, o.Store, s); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeLeftovers(ctx, o, rep.Leftovers))
	return rep, errors.Join(errs...)
}

func removeBackup(ctx context.Context, st Store, id string) error {
	objs, err := st.List(ctx, id+"/")
	if err != nil {
		return fmt.Errorf("prune %s: %w", id, err)
	}
	mkey := objectKey(id, manifest.ManifestName)
	for _, ob := range objs {
		if ob.Key == mkey {
			if err := st.Delete(ctx, mkey); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
				return fmt.Errorf("prune %s: %w", id, err)
			}
		}
	}
	for _, ob := range objs {
		if ob.Key == mkey {
			continue
		}
		if err := st.Delete(ctx, ob.Key); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
			return fmt.Errorf("prune %s: %w", id, err)
		}
	}
	return nil
}

func joinReasons(r []string) string {
	s := ""
	for i, x := range r {
		if i > 0 {
			s += ", "
		}
		s += x
	}
	return s
}
