package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// ChainReport is the state of the binlog chain after one snapshot.
type ChainReport struct {
	From     string   `json:"from"`     // the snapshot's GTID set
	Segments int      `json:"segments"` // segments from the one holding the snapshot to the newest
	To       string   `json:"to,omitempty"`
	Gaps     []string `json:"gaps,omitempty"`
	Bad      []string `json:"bad,omitempty"` // segments whose object does not check out
	// Unavailable says why no chain was checked (no segment in the store, no snapshot GTID): point-in-time
	// recovery from this backup is not available.
	Unavailable string `json:"unavailable,omitempty"`
}

// OK reports a chain without gaps or bad segments.
func (c *ChainReport) OK() bool { return len(c.Gaps) == 0 && len(c.Bad) == 0 }

// chainFrom returns the segments from the one that covers GTID set from to the newest, with the gaps
// found: the chain must start at or before the snapshot and run on without a break.
func chainFrom(segs []manifest.Segment, from string) ([]manifest.Segment, []string, error) {
	for i, s := range segs {
		covers, err := mysqlx.GTIDContains(s.Flavor, s.To, from)
		if err != nil {
			return nil, nil, err
		}
		if !covers {
			continue
		}
		starts, err := mysqlx.GTIDContains(s.Flavor, from, s.From)
		if err != nil {
			return nil, nil, err
		}
		chain := segs[i:]
		gaps := manifest.ChainGaps(chain)
		if !starts {
			gaps = append([]string{fmt.Sprintf("the binlog chain starts at GTID %s (segment %d), after the snapshot's %s", s.From, s.Seq, from)}, gaps...)
		}
		return chain, gaps, nil
	}
	if len(segs) == 0 {
		return nil, []string{"no binlog segment in the store"}, nil
	}
	return nil, []string{fmt.Sprintf("no binlog segment reaches the snapshot's GTID %s (the newest ends at %s)", from, segs[len(segs)-1].To)}, nil
}

// VerifyBinlogChain checks the chain of segments from GTID set from (a snapshot's) to the newest segment:
// no gap, and every segment's object read back (size, sha256, decryption, decompression).
func VerifyBinlogChain(ctx context.Context, st Store, ids Identities, from string) (*ChainReport, error) {
	segs, err := ListSegments(ctx, st)
	if err != nil {
		return nil, err
	}
	chain, gaps, err := chainFrom(segs, from)
	if err != nil {
		return nil, err
	}
	rep := &ChainReport{From: from, Segments: len(chain), Gaps: gaps}
	if len(chain) > 0 {
		rep.To = chain[len(chain)-1].To
	}
	dec, err := newDecompressor(manifest.CompressionZstd) // binlog segments are zstd
	if err != nil {
		return nil, err
	}
	defer dec.close()
	for _, s := range chain {
		ob := manifest.Object{Name: s.Object, Size: s.Size, SHA256: s.SHA256, PlainSize: s.PlainSize}
		if err := readObject(ctx, st, manifest.BinlogDir, ob, ids, dec, func(r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}, nil); err != nil {
			rep.Bad = append(rep.Bad, fmt.Sprintf("segment %d: %v", s.Seq, err))
		}
	}
	return rep, nil
}

// unneededSegments are the binlog segments whose every transaction is already in the snapshot of the
// oldest backup the decisions keep: no kept backup's point-in-time restore replays them. None when a kept
// backup has no GTID (its chain start is unknown).
func unneededSegments(ctx context.Context, st Store, entries []Entry, ds []retention.Decision) ([]manifest.Segment, error) {
	keep := map[string]bool{}
	for _, d := range ds {
		keep[d.ID] = d.Keep
	}
	var oldest *Entry
	for i := range entries {
		e := &entries[i]
		if !keep[e.ID] || !e.Restorable() || e.NotIntact() != "" {
			continue
		}
		if e.GTID == "" {
			return nil, nil
		}
		if oldest == nil || e.Time.Before(oldest.Time) {
			oldest = e
		}
	}
	if oldest == nil {
		return nil, nil
	}
	segs, err := ListSegments(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []manifest.Segment
	for _, s := range segs {
		inside, err := mysqlx.GTIDContains(s.Flavor, oldest.GTID, s.To)
		if err != nil {
			return nil, fmt.Errorf("binlog segment %d: %w", s.Seq, err)
		}
		if !inside {
			break // the chain from here on is needed
		}
		out = append(out, s)
	}
	if len(out) == len(segs) && len(out) > 0 {
		// The newest segment stays whatever the snapshots hold: it is the chain's head, where the next
		// streamer continues (binlog_head.go finds it without listing).
		out = out[:len(out)-1]
	}
	return out, nil
}

// binlogLeftovers are the objects under BinlogDir no chain needs: data objects no index refers to whose
// number is at or before the head's (a streamer that lost the race for that index, or was killed between its
// data and its index: that number's index is written for good, so the object can never be committed), and the
// beats of leaders before the head's. Head hints stay (a few bytes per 32 segments: they find the head).
func binlogLeftovers(ctx context.Context, st Store) ([]string, error) {
	segs, err := ListSegments(ctx, st)
	if err != nil || len(segs) == 0 {
		return nil, err
	}
	objs, err := st.List(ctx, manifest.BinlogDir+"/")
	if err != nil {
		return nil, fmt.Errorf("binlog: list %s: %w", st, err)
	}
	head := segs[len(segs)-1].Seq
	used := map[string]bool{}
	for _, s := range segs {
		used[s.Object] = true
	}
	var out []string
	for _, ob := range objs {
		key := strings.TrimPrefix(ob.Key, manifest.BinlogDir+"/")
		var n int64
		switch {
		case manifest.IsSegmentObjectKey(key) && !used[key]:
			if _, err := fmt.Sscanf(key[:10], "%d", &n); err == nil && n >= 1 && n <= head {
				out = append(out, ob.Key)
			}
		case strings.HasPrefix(key, "beat/") && manifest.WriterReadable(ob.Key):
			if _, err := fmt.Sscanf(key[len("beat/"):len("beat/")+10], "%d", &n); err == nil && n < head {
				out = append(out, ob.Key)
			}
		}
	}
	return out, nil
}

// removeSegment deletes a segment's index first (the segment stops counting), then its object.
func removeSegment(ctx context.Context, st Store, s manifest.Segment) error {
	for _, key := range []string{manifest.SegmentIndexName(s.Seq), s.Object} {
		if err := st.Delete(ctx, manifest.BinlogDir+"/"+key); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
			return fmt.Errorf("prune binlog segment %d: %w", s.Seq, err)
		}
	}
	return nil
}

// removeLeftovers deletes binlogLeftovers; one the store still protects (retention) stays for a later prune.
func removeLeftovers(ctx context.Context, o PruneOptions, keys []string) error {
	var errs []error
	for _, k := range keys {
		err := o.Store.Delete(ctx, k)
		switch {
		case err == nil, errors.Is(err, blobstore.ErrNotFound):
		case errors.Is(err, blobstore.ErrPermissionDenied):
			o.Log.printf("prune: %s stays for now: %v", k, err)
		default:
			errs = append(errs, fmt.Errorf("prune %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}
