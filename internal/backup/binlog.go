package backup

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// BinlogSource is the replication stream the streamer reads (*mysqlx.BinlogStream).
type BinlogSource interface {
	Next(ctx context.Context) (mysqlx.BinlogEvent, error)
	GTIDSet() string
	Close()
}

// BinlogOptions configure `plinth backup binlog`.
type BinlogOptions struct {
	Store      Store
	Recipients Recipients
	Flavor     string
	// Open starts the replication stream after GTID set from.
	Open func(from string) (BinlogSource, error)
	// From is where to start when the store holds no segment yet (default: the newest backup's GTID).
	From string
	// A segment is closed (at a transaction boundary) once it holds SegmentBytes of binlog or is
	// SegmentAge old, whichever comes first; an idle stream closes it after SegmentAge too.
	SegmentBytes int64
	SegmentAge   time.Duration
	// Cursor, when set, is the streamer's cursor file (binlog_cursor.go): written after every segment, read
	// when the store cannot be listed (the writer identity).
	Cursor string
	// Current returns the server's current GTID set: where a new chain starts when the store cannot be
	// listed and there is no cursor.
	Current func(ctx context.Context) (string, error)
	Now     func() time.Time
	Log     Logf
}

// ListSegments reads every segment index under BinlogDir, sorted by Seq.
func ListSegments(ctx context.Context, st Store) ([]manifest.Segment, error) {
	objs, err := st.List(ctx, manifest.BinlogDir+"/")
	if err != nil {
		return nil, fmt.Errorf("binlog: list %s: %w", st, err)
	}
	var out []manifest.Segment
	for _, ob := range objs {
		if !strings.HasSuffix(ob.Key, ".json") {
			continue
		}
		rc, err := st.Open(ctx, ob.Key)
		if err != nil {
			return nil, fmt.Errorf("binlog: %s: %w", ob.Key, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("binlog: %s: %w", ob.Key, err)
		}
		s, err := manifest.DecodeSegment(b)
		if err != nil {
			return nil, fmt.Errorf("binlog: %s: %w", ob.Key, err)
		}
		if ob.Key != manifest.BinlogDir+"/"+manifest.SegmentIndexName(s.Seq) {
			return nil, fmt.Errorf("binlog: %s: %w: it describes segment %d", ob.Key, ErrTampered, s.Seq)
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// resumePoint is where streaming continues: after the last segment, or from o.From, or from the newest
// complete backup's snapshot.
func resumePoint(ctx context.Context, o BinlogOptions) (int64, string, error) {
	segs, err := ListSegments(ctx, o.Store)
	if err != nil && o.Cursor != "" {
		return cursorResume(ctx, o, err)
	}
	if err != nil {
		return 0, "", err
	}
	if n := len(segs); n > 0 {
		return segs[n-1].Seq + 1, segs[n-1].To, nil
	}
	if o.From != "" {
		return 1, o.From, nil
	}
	entries, err := List(ctx, o.Store)
	if err != nil {
		return 0, "", err
	}
	for _, e := range entries {
		if e.Restorable() && e.GTID != "" {
			return 1, e.GTID, nil
		}
	}
	return 0, "", errors.New("binlog: no segment, no backup with a GTID and no --from-gtid: take a backup first (the chain starts at a snapshot)")
}

// StreamBinlog streams the server's binlog into segments until ctx ends, resuming after the last
// segment in the store. Each segment holds whole transactions and is committed by its index, written
// last: a streamer killed mid-segment loses nothing (the next run restarts from the last index's GTID
// set) and duplicates nothing (the unfinished object is never indexed).
func StreamBinlog(ctx context.Context, o BinlogOptions) error {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.SegmentAge <= 0 {
		o.SegmentAge = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	seq, from, err := resumePoint(ctx, o)
	if err != nil {
		return err
	}
	src, err := o.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	o.Log.printf("binlog: streaming from GTID %q into segment %d", from, seq)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
	if err != nil {
		return err
	}
	w := &segWriter{o: o, enc: enc, buf: bufio.NewWriterSize(nil, 256<<10), seq: seq, from: from}
	defer w.abort()
	for {
		wait := o.SegmentAge
		if w.cur != nil {
			wait = max(w.opened.Add(o.SegmentAge).Sub(o.Now()), time.Millisecond)
		}
		nctx, cancel := context.WithTimeout(ctx, wait)
		ev, err := src.Next(nctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped: the open segment is dropped, the next run resumes from the last index
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if w.txns > 0 && !w.inTrx {
					if err := w.finish(ctx, src.GTIDSet()); err != nil {
						return err
					}
				}
				continue
			}
			return err
		}
		if err := w.add(ctx, ev); err != nil {
			return err
		}
		if ev.Commit && (w.cur.plain >= o.SegmentBytes || o.Now().Sub(w.opened) >= o.SegmentAge) {
			if err := w.finish(ctx, src.GTIDSet()); err != nil {
				return err
			}
		}
	}
}

// segWriter builds one segment at a time: the binlog magic and the format description event, then whole
// transactions.
type segWriter struct {
	o      BinlogOptions
	enc    *zstd.Encoder
	buf    *bufio.Writer
	fde    []byte
	cur    *objWriter
	seq    int64
	from   string
	opened time.Time
	first  time.Time
	last   time.Time
	txns   int64
	inTrx  bool
}

func (w *segWriter) add(ctx context.Context, ev mysqlx.BinlogEvent) error {
	if ev.FormatDescription {
		w.fde = ev.Raw
		return nil
	}
	if ev.GTID != "" {
		w.inTrx = true
	}
	if !w.inTrx {
		return nil // rotate, GTID list, checkpoint: not part of a transaction
	}
	if w.cur == nil {
		if w.fde == nil {
			return errors.New("binlog: stream sent a transaction before its format description event")
		}
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		name := manifest.SegmentObjectName(w.seq, hex.EncodeToString(b[:]))
		ow, err := newObjWriter(ctx, w.o.Store, manifest.BinlogDir, name, w.o.Recipients, w.enc, w.buf)
		if err != nil {
			return err
		}
		w.cur, w.opened, w.first, w.txns = ow, w.o.Now(), time.Time{}, 0
		if _, err := ow.Write(append(append([]byte{}, mysqlx.BinlogMagic...), w.fde...)); err != nil {
			return fmt.Errorf("binlog: segment %d: %w", w.seq, err)
		}
	}
	if _, err := w.cur.Write(ev.Raw); err != nil {
		return fmt.Errorf("binlog: segment %d: %w", w.seq, err)
	}
	if ev.Commit {
		w.inTrx = false
		w.txns++
		if w.first.IsZero() {
			w.first = ev.Time
		}
		w.last = ev.Time
	}
	return nil
}

// finish commits the open segment: its object, then its index.
func (w *segWriter) finish(ctx context.Context, to string) error {
	obj, err := w.cur.finish(manifest.BinlogDir)
	w.cur = nil
	if err != nil {
		return err
	}
	s := manifest.Segment{FormatVersion: manifest.FormatVersion, Seq: w.seq, Object: obj.Name, Size: obj.Size, SHA256: obj.SHA256,
		PlainSize: obj.PlainSize, Flavor: w.o.Flavor, From: w.from, To: to, FirstTime: w.first, LastTime: w.last,
		Transactions: w.txns, Recipients: w.o.Recipients.Fingerprints()}
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := putPlain(ctx, w.o.Store, manifest.BinlogDir+"/"+manifest.SegmentIndexName(w.seq), append(b, '\n')); err != nil {
		return fmt.Errorf("binlog: segment %d: index: %w", w.seq, err)
	}
	w.o.Log.printf("binlog: segment %d: %d transactions, GTID %s .. %s, %s .. %s", s.Seq, s.Transactions, s.From, s.To,
		s.FirstTime.Format(time.RFC3339), s.LastTime.Format(time.RFC3339))
	w.seq, w.from, w.txns = w.seq+1, to, 0
	if w.o.Cursor != "" {
		return writeCursor(w.o.Cursor, binlogCursor{Seq: w.seq, GTID: to})
	}
	return nil
}

func (w *segWriter) abort() {
	if w.cur != nil {
		w.cur.abort()
		w.cur = nil
	}
}
