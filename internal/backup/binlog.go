package backup

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
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
	// Cursor, when set, is the streamer's cursor file (binlog_cursor.go): written after every segment; it
	// tells a restarted streamer that it wrote the head (it leads again at once) and where to look for it.
	Cursor string
	// Current returns the server's current GTID set: where a new chain starts when the store cannot be
	// listed and there is no cursor.
	Current func(ctx context.Context) (string, error)
	// Lease: a standby takes over once the chain's head has not advanced (no index, no beat) for this long
	// (default 3 x SegmentAge). Poll is how often a standby looks (default SegmentAge/4).
	Lease, Poll time.Duration
	// Holder names this streamer in its beats (e.g. the host name).
	Holder string
	Now    func() time.Time
	Log    Logf
}

// ListSegments reads every segment index under BinlogDir, sorted by Seq.
func ListSegments(ctx context.Context, st Store) ([]manifest.Segment, error) {
	objs, err := st.List(ctx, manifest.BinlogDir+"/")
	if err != nil {
		return nil, fmt.Errorf("binlog: list %s: %w", st, err)
	}
	var out []manifest.Segment
	for _, ob := range objs {
		if !manifest.IsSegmentIndexKey(strings.TrimPrefix(ob.Key, manifest.BinlogDir+"/")) {
			continue // a segment's data, a head hint, a beat
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

// StreamBinlog streams the server's binlog into segments until ctx ends. Each segment holds whole
// transactions and is committed by its index, written last and only if absent: a streamer killed mid-segment
// loses nothing (the next leader restarts from the last index's GTID set) and duplicates nothing (the
// unfinished object is never indexed). Several streamers on one store hand over (binlog_lease.go): one leads,
// the others stand by and take over when the head stops advancing.
func StreamBinlog(ctx context.Context, o BinlogOptions) error {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.SegmentAge <= 0 {
		o.SegmentAge = time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 3 * o.SegmentAge
	}
	if o.Poll <= 0 {
		o.Poll = max(o.SegmentAge/4, 10*time.Millisecond)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c, ok := o.Store.(SlotClaimer)
	if !ok {
		return fmt.Errorf("binlog: the store %s cannot create an object only when absent", o.Store)
	}
	var cur *binlogCursor
	if o.Cursor != "" {
		cv, ok, err := readCursor(o.Cursor)
		if err != nil {
			return err
		}
		if ok {
			cur = &cv
		}
	}
	known := int64(0)
	if cur != nil {
		known = cur.Seq - 1
	}
	for {
		t, err := standby(ctx, o, c, known, cur)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		known, cur = t.seq-1, nil
		err = lead(ctx, o, c, t)
		switch {
		case ctx.Err() != nil:
			return nil // stopped: the open segment is dropped, the next leader resumes from the last index
		case errors.Is(err, errLostRace):
			o.Log.printf("%v: standing by", err)
		default:
			return err
		}
	}
}

// lead streams from t until ctx ends, an error, or another streamer wins an index or beat (errLostRace).
func lead(ctx context.Context, o BinlogOptions, c SlotClaimer, t turn) error {
	src, err := o.Open(t.from)
	if err != nil {
		return err
	}
	defer src.Close()
	o.Log.printf("binlog: leading: streaming from GTID %q into segment %d", t.from, t.seq)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
	if err != nil {
		return err
	}
	w := &segWriter{o: o, c: c, enc: enc, buf: bufio.NewWriterSize(nil, 256<<10), seq: t.seq, from: t.from,
		beat: t.beat, marked: o.Now(), fresh: true}
	defer w.abort()
	for {
		wait := o.SegmentAge
		if w.cur != nil {
			wait = max(w.opened.Add(o.SegmentAge).Sub(o.Now()), time.Millisecond)
		}
		if m := w.marked.Add(o.SegmentAge).Sub(o.Now()); m < wait {
			wait = max(m, time.Millisecond)
		}
		nctx, cancel := context.WithTimeout(ctx, wait)
		ev, err := src.Next(nctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if w.txns > 0 && !w.inTrx && o.Now().Sub(w.opened) >= o.SegmentAge {
				if err := w.finish(ctx, src.GTIDSet()); err != nil {
					return err
				}
			}
			if err := w.keepAlive(ctx); err != nil {
				return err
			}
			continue
		}
		if err := w.add(ctx, ev); err != nil {
			return err
		}
		if ev.Commit && (w.cur.plain >= o.SegmentBytes || o.Now().Sub(w.opened) >= o.SegmentAge) {
			if err := w.finish(ctx, src.GTIDSet()); err != nil {
				return err
			}
		}
		if err := w.keepAlive(ctx); err != nil {
			return err
		}
	}
}

// segWriter builds one segment at a time: the binlog magic and the format description event, then whole
// transactions.
type segWriter struct {
	o      BinlogOptions
	c      SlotClaimer
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
	// beat is the last beat written after segment seq-1; marked when the last index or beat was; fresh
	// until this leader's first segment is committed.
	beat   int64
	marked time.Time
	fresh  bool
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

// finish commits the open segment: its object, then its index if no other streamer created it first.
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
	won, err := createOnce(ctx, w.c, manifest.SegmentIndexName(w.seq), s)
	if err != nil {
		return fmt.Errorf("binlog: segment %d: index: %w", w.seq, err)
	}
	if !won {
		w.orphan(ctx, obj.Name)
		return fmt.Errorf("%w: segment %d was committed by another streamer", errLostRace, w.seq)
	}
	w.o.Log.printf("binlog: segment %d: %d transactions, GTID %s .. %s, %s .. %s", s.Seq, s.Transactions, s.From, s.To,
		s.FirstTime.Format(time.RFC3339), s.LastTime.Format(time.RFC3339))
	if w.fresh || w.seq%manifest.HeadHintEvery == 0 {
		if _, err := createOnce(ctx, w.c, manifest.HeadHintName(w.seq/manifest.HeadHintEvery), headHint{Seq: w.seq, To: to, Time: w.o.Now().UTC()}); err != nil {
			return err
		}
	}
	w.seq, w.from, w.txns, w.beat, w.marked, w.fresh = w.seq+1, to, 0, 0, w.o.Now(), false
	if w.o.Cursor != "" {
		return writeCursor(w.o.Cursor, binlogCursor{Seq: w.seq, GTID: to})
	}
	return nil
}

// keepAlive writes the next beat when nothing was committed for a segment age (an idle server, a long
// transaction), so that the standbys see the leader alive; errLostRace when a standby claimed it first.
func (w *segWriter) keepAlive(ctx context.Context) error {
	if w.o.Now().Sub(w.marked) < w.o.SegmentAge {
		return nil
	}
	won, err := createOnce(ctx, w.c, manifest.BeatName(w.seq-1, w.beat+1), beat{Holder: w.o.Holder, Time: w.o.Now().UTC()})
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("%w: beat %d after segment %d was claimed by another streamer", errLostRace, w.beat+1, w.seq-1)
	}
	w.beat, w.marked = w.beat+1, w.o.Now()
	return nil
}

// orphan removes the data object of a segment another streamer committed first; an identity that may not
// delete (the vault's writer) leaves it to `backup prune`, which removes data no index refers to.
func (w *segWriter) orphan(ctx context.Context, name string) {
	if err := w.o.Store.Delete(ctx, manifest.BinlogDir+"/"+name); err != nil {
		w.o.Log.printf("binlog: segment %d: the orphan object %s stays for `backup prune` (%v)", w.seq, name, err)
	}
}

func (w *segWriter) abort() {
	if w.cur != nil {
		w.cur.abort()
		w.cur = nil
	}
}
