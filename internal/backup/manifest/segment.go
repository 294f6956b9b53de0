package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// BinlogDir holds the binlog segments of point-in-time recovery, next to the backups.
const BinlogDir = "binlog"

// Segment describes one binlog segment: whole transactions streamed from the server, stored encrypted and
// compressed as a binlog file. Its index (this document, plaintext) is written after the segment object:
// the segment's commit marker, like a backup's manifest.
type Segment struct {
	FormatVersion int    `json:"formatVersion"`
	Seq           int64  `json:"seq"`
	Object        string `json:"object"` // key relative to BinlogDir
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	PlainSize     int64  `json:"plainSize"`
	Flavor        string `json:"flavor"`
	// From is the server's GTID set before the segment's first transaction (the previous segment's To);
	// To is the set after its last one.
	From         string    `json:"from"`
	To           string    `json:"to"`
	FirstTime    time.Time `json:"firstTime"` // commit time of the first and last transaction (binlog timestamps)
	LastTime     time.Time `json:"lastTime"`
	Transactions int64     `json:"transactions"`
	Recipients   []string  `json:"recipients"`
}

var segObjRE = regexp.MustCompile(`^[0-9]{10}-[0-9a-f]{8}\.binlog\.zst\.age$`)

// SegmentIndexName is the index object of segment seq, relative to BinlogDir.
func SegmentIndexName(seq int64) string { return fmt.Sprintf("%010d.json", seq) }

// SegmentObjectName is the name of segment seq's data object (suffix: random, so that an interrupted
// attempt never collides with the one that succeeds).
func SegmentObjectName(seq int64, suffix string) string {
	return fmt.Sprintf("%010d-%s.binlog.zst.age", seq, suffix)
}

// Validate checks one segment index.
func (s *Segment) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.FormatVersion != FormatVersion {
		bad("format version %d, want %d", s.FormatVersion, FormatVersion)
	}
	if s.Seq < 1 {
		bad("seq %d", s.Seq)
	}
	if !segObjRE.MatchString(s.Object) {
		bad("object %q is not a segment name", s.Object)
	}
	if s.Size <= 0 || s.PlainSize <= 0 || s.Transactions <= 0 {
		bad("empty segment")
	}
	if !hexRE.MatchString(s.SHA256) {
		bad("sha256 %q is not 64 hex digits", s.SHA256)
	}
	if s.Flavor != "mariadb" && s.Flavor != "mysql" {
		bad("flavor %q", s.Flavor)
	}
	if s.To == "" {
		bad("no GTID set")
	}
	if s.LastTime.Before(s.FirstTime) {
		bad("times: first %v, last %v", s.FirstTime, s.LastTime)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("binlog segment %d invalid: %w", s.Seq, errors.Join(errs...))
}

// DecodeSegment parses and validates a segment index strictly.
func DecodeSegment(b []byte) (*Segment, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Segment
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("binlog segment: decode: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// ChainGaps checks that segments (sorted by Seq) form one unbroken chain: consecutive numbers, each
// starting exactly where the previous one ended. Every gap is returned.
func ChainGaps(segs []Segment) []string {
	var out []string
	for i := 1; i < len(segs); i++ {
		a, b := segs[i-1], segs[i]
		switch {
		case b.Seq != a.Seq+1:
			out = append(out, fmt.Sprintf("segments %d to %d missing (between GTID %s and %s)", a.Seq+1, b.Seq-1, a.To, b.From))
		case b.From != a.To:
			out = append(out, fmt.Sprintf("segment %d starts at GTID %s but segment %d ended at %s", b.Seq, b.From, a.Seq, a.To))
		}
	}
	return out
}

// The chain's coordination objects, beside the indexes (binlog_head.go in package backup): head hints and
// leader beats. Like the indexes they are plaintext JSON of sequence numbers and GTID sets, created only when
// absent, and the only objects the vault's writer identity may read (never a segment's data).
const (
	// HeadHintEvery: head hint k says a segment in [k*HeadHintEvery, (k+1)*HeadHintEvery) was committed.
	HeadHintEvery = 32
	headDir       = "head/"
	beatDir       = "beat/"
)

// HeadHintName is head hint k, relative to BinlogDir.
func HeadHintName(k int64) string { return fmt.Sprintf("%s%010d.json", headDir, k) }

// BeatName is beat n of the leader that follows segment seq (0: the empty chain), relative to BinlogDir.
func BeatName(seq, n int64) string { return fmt.Sprintf("%s%010d-%08d.json", beatDir, seq, n) }

var writerReadableRE = regexp.MustCompile(`(^|/)` + BinlogDir + `/([0-9]{10}|` + headDir + `[0-9]{10}|` + beatDir + `[0-9]{10}-[0-9]{8})\.json$`)

// WriterReadable reports whether object name (a store key, or a bucket object name under any prefix) is one
// of the binlog chain's indexes, head hints or beats: what the vault's writer identity may read (GET, never
// list) so that a standby streamer can find the chain's head and see whether its leader is alive.
func WriterReadable(name string) bool { return writerReadableRE.MatchString(name) }

// IsSegmentIndexKey reports whether key (relative to BinlogDir) names a segment index.
func IsSegmentIndexKey(key string) bool { return segIndexRE.MatchString(key) }

var segIndexRE = regexp.MustCompile(`^[0-9]{10}\.json$`)

// IsSegmentObjectKey reports whether key (relative to BinlogDir) names a segment's data object.
func IsSegmentObjectKey(key string) bool { return segObjRE.MatchString(key) }
