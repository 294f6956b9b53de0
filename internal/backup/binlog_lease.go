package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// Hand-over between the streamers of several workers. Exactly one leads; the others stand by, following the
// chain's head by GET (binlog_head.go). The index create is the compare-and-swap that decides every segment:
// of two streamers writing segment N+1, both started from segment N's end GTID, exactly one index is created
// and the other's data object is an orphan (deleted when the identity may, otherwise left to `backup prune`).
// Leadership itself is claimed the same way, by creating the next beat after the head: a standby does it once
// the head has not advanced (no new index, no new beat) for the lease, a streamer whose cursor shows it wrote
// the head does it at once (a fast restart), and on an empty chain whoever comes first does. So no gap (every
// segment starts where the previous index ends) and no duplicate (one index per number), whatever dies when.

// errLostRace: another streamer created the index or beat this one meant to: it stands by again.
var errLostRace = errors.New("binlog: another streamer leads")

// turn is where a streamer that won the lead continues.
type turn struct {
	seq  int64  // the next segment to write
	from string // the GTID set it starts after
	beat int64  // the beat it claimed (after segment seq-1)
}

// standby follows the chain until this streamer wins the lead. known is a committed segment (0: none known);
// fast claims at once when the cursor says this streamer wrote the head.
func standby(ctx context.Context, o BinlogOptions, c SlotClaimer, known int64, cur *binlogCursor) (turn, error) {
	head, err := findHead(ctx, o.Store, known)
	if err != nil {
		return turn{}, err
	}
	var t turn
	if head == nil {
		if t.from, err = chainStart(ctx, o, cur); err != nil {
			return turn{}, err
		}
	} else {
		t.from = head.To
	}
	seq := headSeq(head)
	b, err := lastBeat(ctx, o.Store, seq, 0)
	if err != nil {
		return turn{}, err
	}
	fast := (head == nil && b == 0) || (head != nil && cur != nil && cur.Seq == seq+1 && cur.GTID == head.To)
	if !fast {
		o.Log.printf("binlog: standing by after segment %d (beat %d%s): leading once the chain has not advanced for %s", seq, b,
			heldBy(ctx, o.Store, seq, b), o.Lease)
	}
	progress, probed := o.Now(), true
	for {
		if probed && (fast || o.Now().Sub(progress) >= o.Lease) {
			won, err := createOnce(ctx, c, manifest.BeatName(seq, b+1), beat{Holder: o.Holder, Time: o.Now().UTC()})
			if err != nil {
				return turn{}, err
			}
			if won {
				// The head may have moved while the lease ran out: then the claim is void.
				ok, err := segExists(ctx, o.Store)(seq + 1)
				if err != nil {
					return turn{}, err
				}
				if ok {
					o.Log.printf("binlog: claimed beat %d after segment %d but segment %d exists: standing by", b+1, seq, seq+1)
					return standby(ctx, o, c, seq+1, nil)
				}
				if !fast {
					o.Log.printf("binlog: segment %d and its beats did not advance for %s: taking over from GTID %q", seq, o.Lease, t.from)
				}
				t.seq, t.beat = seq+1, b+1
				return t, nil
			}
			// Another streamer created that beat first (two streamers starting on an empty chain, or two
			// standbys whose leases ran out together): it leads, this one stands by, and says so.
			b++
			o.Log.printf("binlog: standing by after segment %d (beat %d%s): another streamer claimed it first; leading once the chain has not advanced for %s",
				seq, b, heldBy(ctx, o.Store, seq, b), o.Lease)
			fast, progress = false, o.Now()
		}
		select {
		case <-ctx.Done():
			return turn{}, ctx.Err()
		case <-time.After(o.Poll):
		}
		next, nb, err := advance(ctx, o.Store, head, b)
		probed = err == nil
		if err != nil {
			if ctx.Err() == nil {
				o.Log.printf("binlog: standby: %v (no claim until a look succeeds)", err)
			}
			continue
		}
		if headSeq(next) != seq {
			head, seq, t.from, b, progress = next, headSeq(next), next.To, nb, o.Now()
			continue
		}
		if nb > b {
			b, progress = nb, o.Now()
		}
	}
}

// advance re-reads the head after head (nil: the empty chain) and its newest beat from b.
func advance(ctx context.Context, st Store, head *manifest.Segment, b int64) (*manifest.Segment, int64, error) {
	next, err := findHead(ctx, st, headSeq(head))
	if err != nil {
		return nil, 0, err
	}
	if next == nil {
		next = head
	}
	if headSeq(next) != headSeq(head) {
		b = 0
	}
	nb, err := lastBeat(ctx, st, headSeq(next), b)
	if err != nil {
		return nil, 0, err
	}
	return next, nb, nil
}

func headSeq(s *manifest.Segment) int64 {
	if s == nil {
		return 0
	}
	return s.Seq
}

// chainStart is where an empty chain starts: the cursor's GTID set (the vault was emptied under it), o.From,
// the newest backup's snapshot when the store can be listed, or the server's current position.
func chainStart(ctx context.Context, o BinlogOptions, cur *binlogCursor) (string, error) {
	if cur != nil {
		o.Log.printf("binlog: the store holds no segment: a new chain starts at the cursor's GTID %q", cur.GTID)
		return cur.GTID, nil
	}
	if o.From != "" {
		return o.From, nil
	}
	entries, listErr := List(ctx, o.Store)
	if listErr == nil {
		for _, e := range entries {
			if e.Restorable() && e.GTID != "" {
				return e.GTID, nil
			}
		}
		if o.Current == nil {
			return "", errors.New("binlog: no segment, no backup with a GTID and no --from-gtid: take a backup first (the chain starts at a snapshot)")
		}
	}
	if o.Current == nil {
		return "", fmt.Errorf("%w (and no cursor in %s, no --from-gtid)", listErr, o.Cursor)
	}
	g, err := o.Current(ctx)
	if err != nil {
		return "", err
	}
	o.Log.printf("binlog: the store holds no segment (and no backup it may list): a new chain starts at the server's GTID %q", g)
	return g, nil
}
