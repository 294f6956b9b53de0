package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
)

// countingStore counts reads (the GETs a standby pays).
type countingStore struct {
	*blobstore.Store
	gets atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.Store.Open(ctx, key)
}

// chainOf writes indexes 1..n (and their head hints, as leaders do) into a fresh mem store.
func chainOf(t *testing.T, n int64) *countingStore {
	t.Helper()
	st, err := blobstore.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for seq := int64(1); seq <= n; seq++ {
		s := manifest.Segment{FormatVersion: manifest.FormatVersion, Seq: seq, Object: manifest.SegmentObjectName(seq, "0a1b2c3d"),
			Size: 1, SHA256: strings.Repeat("ab", 32), PlainSize: 1, Flavor: "mariadb", From: fmt.Sprintf("0-1-%d", seq-1),
			To: fmt.Sprintf("0-1-%d", seq), FirstTime: time.Unix(seq, 0), LastTime: time.Unix(seq, 0), Transactions: 1}
		b, _ := json.Marshal(s)
		if ok, err := st.CreateIfAbsent(ctx, manifest.BinlogDir+"/"+manifest.SegmentIndexName(seq), b); err != nil || !ok {
			t.Fatalf("index %d: %v %v", seq, ok, err)
		}
		if seq == 1 || seq%manifest.HeadHintEvery == 0 {
			if _, err := createOnce(ctx, st, manifest.HeadHintName(seq/manifest.HeadHintEvery), headHint{Seq: seq}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &countingStore{Store: st}
}

func prune(t *testing.T, st *countingStore, from, to int64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		if err := st.Delete(context.Background(), manifest.BinlogDir+"/"+manifest.SegmentIndexName(seq)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFindHead: the head is found by GET alone, in few reads, from no cursor, a pruned cursor, a current one;
// after prune removed the start of the chain and the newest hint's whole window but its last segment.
func TestFindHead(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name         string
		n            int64
		pruneTo      int64 // indexes 1..pruneTo removed
		known        int64
		want         int64
		maxGets      int64
		wantEmptyNil bool
	}{
		{name: "empty", n: 0, wantEmptyNil: true, maxGets: 2},
		{name: "one", n: 1, want: 1, maxGets: 6},
		{name: "no cursor", n: 5000, want: 5000, maxGets: 30},
		{name: "current cursor", n: 5000, known: 4999, want: 5000, maxGets: 6},
		{name: "old cursor", n: 5000, known: 100, want: 5000, maxGets: 30},
		{name: "pruned start", n: 5000, pruneTo: 4990, want: 5000, maxGets: 30},
		{name: "pruned cursor", n: 5000, pruneTo: 4990, known: 300, want: 5000, maxGets: 30},
		{name: "head at a window start, no hint for it yet", n: 96, want: 96, maxGets: 20},
		{name: "window pruned but the head", n: 127, pruneTo: 126, want: 127, maxGets: 14},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := chainOf(t, c.n)
			if c.name == "head at a window start, no hint for it yet" {
				// the leader died between index 96 and hint 3
				if err := st.Delete(ctx, manifest.BinlogDir+"/"+manifest.HeadHintName(3)); err != nil {
					t.Fatal(err)
				}
			}
			prune(t, st, 1, c.pruneTo)
			st.gets.Store(0)
			h, err := findHead(ctx, st, c.known)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.wantEmptyNil && h != nil:
				t.Fatalf("head %d on an empty chain", h.Seq)
			case !c.wantEmptyNil && (h == nil || h.Seq != c.want):
				t.Fatalf("head %+v, want %d", h, c.want)
			}
			if g := st.gets.Load(); g > c.maxGets {
				t.Errorf("%d GETs, want at most %d", g, c.maxGets)
			}
		})
	}
}

// TestWriterReadable is the writer identity's read rule.
func TestWriterReadable(t *testing.T) {
	for name, want := range map[string]bool{
		"binlog/0000000001.json": true, "staging/binlog/0000000001.json": true, "binlog/head/0000000000.json": true,
		"binlog/beat/0000000001-00000001.json": true, "binlog/0000000001-0a1b2c3d.binlog.zst.age": false,
		"20261203T031500Z/manifest.json": false, "binlog/1.json": false, "xbinlog/0000000001.json": false,
		"binlog/beat/0000000001.json": false, "locks/backup-run/20261203T030000Z": false,
	} {
		if got := manifest.WriterReadable(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}
