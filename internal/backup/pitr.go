package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// PITROptions configure a point-in-time restore: the newest intact snapshot before the target, then the
// binlog chain replayed up to it.
type PITROptions struct {
	Restore RestoreOptions // its ID is chosen here
	// ToTime restores the binlog up to the first transaction stamped after this second (every transaction
	// committed up to and including it; docs/backup.md says exactly what else); ToGTID up to and including
	// this GTID. Exactly one is set.
	ToTime time.Time
	ToGTID string
	// Replay applies decrypted binlog files to the target (mysqlx.ReplayBinlog on the target's own pool).
	Replay func(ctx context.Context, files []string, o mysqlx.ReplayOptions) error
	// CheckReplay, when set, runs before the backup is restored (mysqlx.CheckReplayPrivilege): a target
	// the replay would fail on is refused untouched.
	CheckReplay func(ctx context.Context) error
	TempDir     string
}

// PITRReport is a point-in-time restore's outcome.
type PITRReport struct {
	Restore  *RestoreReport `json:"restore"`
	Snapshot string         `json:"snapshotGtid"`
	Segments int            `json:"segments"`
	To       string         `json:"to"`
}

// RestoreToPoint restores the newest intact backup taken before the target, then replays the binlog
// segments from its snapshot up to the target. The chain is checked (no gap, reaching the target) before
// the target database is touched.
func RestoreToPoint(ctx context.Context, o PITROptions) (*PITRReport, error) {
	if o.ToTime.IsZero() == (o.ToGTID == "") {
		return nil, errors.New("point-in-time restore: set exactly one of the target time and the target GTID")
	}
	entries, err := List(ctx, o.Restore.Store)
	if err != nil {
		return nil, err
	}
	segs, err := ListSegments(ctx, o.Restore.Store)
	if err != nil {
		return nil, err
	}
	var snap *Entry
	for i := range entries {
		e := &entries[i]
		if !e.Restorable() || e.NotIntact() != "" || e.GTID == "" {
			continue
		}
		if o.ToGTID != "" {
			if ok, err := mysqlx.GTIDContains(flavorOf(segs), o.ToGTID, e.GTID); err != nil || !ok {
				continue
			}
		} else if !consistentBy(e.Manifest, o.ToTime) {
			continue
		}
		snap = e
		break
	}
	target := o.ToGTID
	if target == "" {
		target = o.ToTime.UTC().Format(time.RFC3339)
	}
	if snap == nil {
		return nil, fmt.Errorf("point-in-time restore to %s: no intact backup taken before it", target)
	}
	chain, gaps, err := chainFrom(segs, snap.GTID)
	if err != nil {
		return nil, err
	}
	if len(gaps) > 0 {
		return nil, fmt.Errorf("point-in-time restore to %s from backup %s: the binlog chain is broken: %v", target, snap.ID, gaps)
	}
	var use []manifest.Segment
	for _, s := range chain {
		if o.ToGTID == "" && s.FirstTime.After(o.ToTime) {
			break
		}
		use = append(use, s)
		if o.ToGTID != "" {
			if ok, _ := mysqlx.GTIDContains(s.Flavor, s.To, o.ToGTID); ok {
				break
			}
		}
	}
	last := chain[len(chain)-1]
	switch {
	case o.ToGTID != "":
		if ok, err := mysqlx.GTIDContains(last.Flavor, last.To, o.ToGTID); err != nil || !ok {
			return nil, fmt.Errorf("point-in-time restore to GTID %s: the binlog chain ends at %s (%v)", o.ToGTID, last.To, err)
		}
	case last.LastTime.Before(o.ToTime):
		return nil, fmt.Errorf("point-in-time restore to %s: the binlog chain ends with a transaction at %s (GTID %s): later data is not streamed yet",
			target, last.LastTime.Format(time.RFC3339), last.To)
	}
	if o.CheckReplay != nil {
		if err := o.CheckReplay(ctx); err != nil {
			return nil, fmt.Errorf("point-in-time restore to %s: nothing restored: %w", target, err)
		}
	}
	ro := o.Restore
	ro.ID = snap.ID
	rrep, err := Restore(ctx, ro)
	if err != nil {
		return nil, err
	}
	rep := &PITRReport{Restore: rrep, Snapshot: snap.GTID, Segments: len(use), To: target}
	if len(use) == 0 {
		return rep, nil
	}
	files, cleanup, err := decryptSegments(ctx, o, use)
	defer cleanup()
	if err != nil {
		return nil, fmt.Errorf("point-in-time restore: backup %s restored, binlog not replayed: %w", snap.ID, err)
	}
	ropts := mysqlx.ReplayOptions{StartGTID: snap.GTID, StopGTID: o.ToGTID, Rewrite: o.Restore.Rename}
	if !o.ToTime.IsZero() {
		ropts.StopTime = o.ToTime.Truncate(time.Second).Add(time.Second)
	}
	// Only the backed-up database's changes (mariadb-binlog filters on the name before --rewrite-db, as
	// tested against MariaDB 10.11); a backup of several databases replays every database's changes.
	if len(snap.Manifest.Databases) == 1 {
		ropts.Database = snap.Manifest.Databases[0]
	}
	if err := o.Replay(ctx, files, ropts); err != nil {
		return nil, fmt.Errorf("point-in-time restore: backup %s restored, binlog replay failed part way (the target holds the snapshot plus part of the binlog): %w", snap.ID, err)
	}
	return rep, nil
}

// consistentBy reports whether backup m holds only transactions restorable to time t (second precision:
// up to t's second included). Its snapshot's time (the server's clock under the lock) must fall before the
// end of t's second. A manifest without it goes by CompletedAt, later than the lock: a t between the backup's
// start and its lock (FLUSH TABLES WITH READ LOCK waiting behind long statements) takes an older backup, never
// one holding transactions committed after t. (Backup times are the backup tool's clock, the snapshot's the
// server's; CompletedAt is the conservative stand-in only up to their skew.)
func consistentBy(m *manifest.Manifest, t time.Time) bool {
	end := t.Truncate(time.Second).Add(time.Second)
	at := m.Snapshot.At
	if at.IsZero() {
		at = m.CompletedAt
	}
	return at.Before(end)
}

func flavorOf(segs []manifest.Segment) string {
	if len(segs) > 0 {
		return segs[0].Flavor
	}
	return "mariadb"
}

// decryptSegments writes the segments, checked against their index, as binlog files in a private
// temporary directory.
func decryptSegments(ctx context.Context, o PITROptions, segs []manifest.Segment) ([]string, func(), error) {
	dir, err := os.MkdirTemp(o.TempDir, "plinth-binlog-")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	dec, err := newDecompressor(manifest.CompressionZstd) // binlog segments are zstd
	if err != nil {
		return nil, cleanup, err
	}
	defer dec.close()
	var files []string
	for _, s := range segs {
		path := filepath.Join(dir, fmt.Sprintf("segment.%010d", s.Seq))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, cleanup, err
		}
		ob := manifest.Object{Name: s.Object, Size: s.Size, SHA256: s.SHA256, PlainSize: s.PlainSize}
		err = readObject(ctx, o.Restore.Store, manifest.BinlogDir, ob, o.Restore.Identities, dec, func(r io.Reader) error {
			_, err := io.Copy(f, r)
			return err
		}, nil)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("segment %d: %w", s.Seq, err)
		}
		files = append(files, path)
	}
	return files, cleanup, nil
}
