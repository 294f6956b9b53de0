package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
)

// Finding the chain's head without listing. Every worker runs a streamer as the vault's writer identity, which
// may create objects and GET the chain's plaintext coordination objects (manifest.WriterReadable) but never
// list. Three kinds of object, each created only when absent (the store's compare-and-swap):
//
//	binlog/<seq>.json              segment indexes: 1, 2, 3 ... contiguous from the oldest kept to the head
//	binlog/head/<k>.json           head hints: a segment in [k*32, k*32+32) was committed; never pruned, so
//	                               hints 0..K are contiguous and the newest is found by galloping
//	binlog/beat/<seq>-<n>.json     the beats of whoever leads after segment seq: the leader writes beat n+1
//	                               when it has committed nothing for a segment age (an idle server); a standby
//	                               takes over by creating the next beat itself once the lease has passed
//
// A head is found in O(log n) GETs: gallop over the hints, scan the newest hint's window downwards (its start
// may have been pruned; prune always keeps the newest segment), then gallop over the indexes above it.

// headHint is a head hint's content.
type headHint struct {
	Seq  int64     `json:"seq"`
	To   string    `json:"to"`
	Time time.Time `json:"time"`
}

// beat is a beat's content: who leads, and since when.
type beat struct {
	Holder string    `json:"holder"`
	Time   time.Time `json:"time"`
}

// readSmall reads a small plaintext object; ok is false when it does not exist.
func readSmall(ctx context.Context, st Store, key string) ([]byte, bool, error) {
	rc, err := st.Open(ctx, key)
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, false, nil
	}
	if errors.Is(err, blobstore.ErrPermissionDenied) {
		return nil, false, fmt.Errorf("binlog: %s: %w (a streamer must be able to GET the chain's indexes, head hints and beats: on GCS the vault's writer holds that by its binlog head-reader grant)", key, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("binlog: %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("binlog: %s: %w", key, err)
	}
	return b, true, nil
}

// readSegment reads segment seq's index (nil when absent).
func readSegment(ctx context.Context, st Store, seq int64) (*manifest.Segment, error) {
	key := manifest.BinlogDir + "/" + manifest.SegmentIndexName(seq)
	b, ok, err := readSmall(ctx, st, key)
	if err != nil || !ok {
		return nil, err
	}
	s, err := manifest.DecodeSegment(b)
	if err != nil {
		return nil, fmt.Errorf("binlog: %s: %w", key, err)
	}
	if s.Seq != seq {
		return nil, fmt.Errorf("binlog: %s: %w: it describes segment %d", key, ErrTampered, s.Seq)
	}
	return s, nil
}

func exists(ctx context.Context, st Store, key string) (bool, error) {
	_, ok, err := readSmall(ctx, st, key)
	return ok, err
}

// lastExisting returns the largest n >= lo with has(n), given has(lo) and that has holds on a contiguous run
// from lo: gallop up, then bisect.
func lastExisting(lo int64, has func(int64) (bool, error)) (int64, error) {
	step, hi := int64(1), lo+1
	for {
		ok, err := has(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, step = hi, step*2
		hi = lo + step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func segExists(ctx context.Context, st Store) func(int64) (bool, error) {
	return func(n int64) (bool, error) {
		return exists(ctx, st, manifest.BinlogDir+"/"+manifest.SegmentIndexName(n))
	}
}

// findHead returns the chain's newest segment (nil: the chain is empty). known, when > 0, is a segment
// known to have been committed (the cursor's), which saves the search over the hints.
func findHead(ctx context.Context, st Store, known int64) (*manifest.Segment, error) {
	has := segExists(ctx, st)
	if known > 0 {
		ok, err := has(known)
		if err != nil {
			return nil, err
		}
		if ok {
			return headFrom(ctx, st, known)
		}
	}
	hint := func(k int64) (bool, error) { return exists(ctx, st, manifest.BinlogDir+"/"+manifest.HeadHintName(k)) }
	ok, err := hint(0)
	if err != nil {
		return nil, err
	}
	if !ok {
		// No hint at all: an empty chain (or one streamed before hints existed, from segment 1).
		if ok, err := has(1); err != nil || !ok {
			return nil, err
		}
		return headFrom(ctx, st, 1)
	}
	k, err := lastExisting(0, hint)
	if err != nil {
		return nil, err
	}
	// The hint names the segment that wrote it: the chain runs on from there unless prune removed it.
	b, ok, err := readSmall(ctx, st, manifest.BinlogDir+"/"+manifest.HeadHintName(k))
	if err != nil {
		return nil, err
	}
	var hh headHint
	if ok && json.Unmarshal(b, &hh) == nil && hh.Seq/manifest.HeadHintEvery == k {
		if ok, err := has(hh.Seq); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return headFrom(ctx, st, hh.Seq)
		}
	}
	// Else the head is at or after the window's start; prune may have removed its first segments, never the
	// newest.
	lo, hi := max(k*manifest.HeadHintEvery, 1), (k+1)*manifest.HeadHintEvery
	for n := hi; n >= lo; n-- {
		ok, err := has(n)
		if err != nil {
			return nil, err
		}
		if ok {
			return headFrom(ctx, st, n)
		}
	}
	return nil, fmt.Errorf("binlog: head hint %d names segments %d to %d, and none of them is in the store %s", k, lo, hi, st)
}

// headFrom gallops from committed segment n to the newest and reads it.
func headFrom(ctx context.Context, st Store, n int64) (*manifest.Segment, error) {
	h, err := lastExisting(n, segExists(ctx, st))
	if err != nil {
		return nil, err
	}
	s, err := readSegment(ctx, st, h)
	if err == nil && s == nil {
		return nil, fmt.Errorf("binlog: segment %d's index vanished while it was read (a prune?)", h)
	}
	return s, err
}

// lastBeat returns the newest beat of the leader after segment seq, from beat n (0: none known).
func lastBeat(ctx context.Context, st Store, seq, n int64) (int64, error) {
	has := func(i int64) (bool, error) { return exists(ctx, st, manifest.BinlogDir+"/"+manifest.BeatName(seq, i)) }
	if n == 0 {
		ok, err := has(1)
		if err != nil || !ok {
			return 0, err
		}
		n = 1
	}
	return lastExisting(n, has)
}

// heldBy names the holder of beat n after segment seq for a log line (", held by <holder>"), or nothing
// when there is no such beat or it cannot be read: a line, never a failure.
func heldBy(ctx context.Context, st Store, seq, n int64) string {
	if n < 1 {
		return ""
	}
	raw, ok, err := readSmall(ctx, st, manifest.BinlogDir+"/"+manifest.BeatName(seq, n))
	var bt beat
	if err != nil || !ok || json.Unmarshal(raw, &bt) != nil || bt.Holder == "" {
		return ""
	}
	return ", held by " + bt.Holder
}

// createOnce creates key with body unless it exists (false).
func createOnce(ctx context.Context, c SlotClaimer, key string, v any) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	ok, err := c.CreateIfAbsent(ctx, manifest.BinlogDir+"/"+key, append(b, '\n'))
	if err != nil {
		return false, fmt.Errorf("binlog: create %s: %w", key, err)
	}
	return ok, nil
}
