// Package manifest is the commit marker of a backup: what it holds and how to check it. Pure: encode,
// decode, validate; no I/O. A backup is complete exactly when its manifest exists; the manifest is written last.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FormatVersion is the manifest format this code writes and the only one it reads.
const FormatVersion = 1

// MaxSize bounds a manifest document (decoders refuse bigger input).
const MaxSize = 64 << 20

// Object names inside a backup.
const (
	ManifestName     = "manifest.json"       // the commit marker, plaintext so hosts without the key can list and prune
	SealedName       = "manifest.age"        // the same bytes, encrypted: verify compares them
	SchemaName       = "schema.json.zst.age" // the schema object of a zstd backup: SchemaObject(CompressionZstd)
	VerifiedName     = "verified.json"
	EncryptionAgeX25 = "age-x25519"
)

// Codecs a manifest may name as its compression: every object of a backup (schema and data) is compressed
// with the one codec, and its name says so (".zst.age", ".s2.age"). Backups before s2 are all zstd.
const (
	CompressionZstd = "zstd" // klauspost/compress zstd frames
	CompressionS2   = "s2"   // klauspost/compress s2 stream format (Snappy framing with S2 blocks)
)

// CodecExt is the object name extension of a codec ("zst", "s2"); ok is false for a codec this plinth does
// not know.
func CodecExt(codec string) (ext string, ok bool) {
	switch codec {
	case CompressionZstd:
		return "zst", true
	case CompressionS2:
		return "s2", true
	}
	return "", false
}

// Codecs lists the codecs this plinth reads and writes.
func Codecs() []string { return []string{CompressionZstd, CompressionS2} }

// ErrUnknownCodec is wrapped by the validation error of a manifest naming a codec this plinth cannot read.
var ErrUnknownCodec = errors.New("unknown compression codec")

// SchemaObject is the name of the schema object of a backup compressed with codec.
func SchemaObject(codec string) string {
	ext, _ := CodecExt(codec)
	return "schema.json." + ext + ".age"
}

// Manifest describes one complete backup.
type Manifest struct {
	FormatVersion int       `json:"formatVersion"`
	ID            string    `json:"id"`
	ToolVersion   string    `json:"toolVersion"`
	StartedAt     time.Time `json:"startedAt"`
	CompletedAt   time.Time `json:"completedAt"`
	Source        Source    `json:"source"`
	Snapshot      Position  `json:"snapshot"`
	Compression   string    `json:"compression"`
	Encryption    string    `json:"encryption"`
	// Recipients are fingerprints of the age X25519 recipients every object is encrypted to.
	Recipients []string `json:"recipients"`
	Databases  []string `json:"databases"`
	// Schema is the object holding database and table definitions.
	Schema  string   `json:"schema"`
	Tables  []Table  `json:"tables"`
	Objects []Object `json:"objects"`
}

// Source names the server that was backed up (never credentials).
type Source struct {
	Address       string `json:"address"`
	ServerVersion string `json:"serverVersion"`
}

// Position is the binlog coordinate / GTID set at the snapshot: where replication or PITR resumes.
type Position struct {
	BinlogFile string `json:"binlogFile,omitempty"`
	BinlogPos  uint64 `json:"binlogPos,omitempty"`
	GTID       string `json:"gtid,omitempty"`
	// At is the consistent point's time: the server's UTC clock read while the snapshot's lock was held
	// (every transaction the backup holds committed before it). Absent in manifests written before it was
	// recorded; --to-time then goes by CompletedAt.
	At time.Time `json:"at,omitzero"`
}

// Table is one table's rows: count, order-independent hash (16 hex digits) and the data objects holding them.
type Table struct {
	Schema string   `json:"schema"`
	Name   string   `json:"name"`
	Rows   int64    `json:"rows"`
	Hash   string   `json:"hash"`
	Parts  []string `json:"parts"`
}

// String is schema.name.
func (t Table) String() string { return t.Schema + "." + t.Name }

// Object is one stored object: name relative to the backup, ciphertext size and sha256, plaintext size.
type Object struct {
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	PlainSize int64  `json:"plainSize"`
	Rows      int64  `json:"rows,omitempty"`
}

var (
	idRE   = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9a-z]{1,16})?$`)
	hexRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hashRE = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// ValidID reports whether id has the shape of a backup ID (20261123T004512Z[-suffix]).
func ValidID(id string) bool { return idRE.MatchString(id) }

// NewID builds the ID of a backup started at t.
func NewID(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// TimeOfID parses the start time out of an ID.
func TimeOfID(id string) (time.Time, bool) {
	if !ValidID(id) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", id[:16])
	return t, err == nil
}

// Encode renders m as indented JSON after validating it.
func Encode(m *Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest %s: encode: %w", m.ID, err)
	}
	return append(b, '\n'), nil
}

// Decode parses and validates a manifest. Unknown fields are rejected: a manifest this version does not
// fully understand must not be trusted.
func Decode(b []byte) (*Manifest, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("manifest: %d bytes exceeds the %d byte limit", len(b), MaxSize)
	}
	var probe struct {
		FormatVersion int `json:"formatVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("manifest: decode: %w", err)
	}
	if probe.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("manifest: format version %d not supported (this plinth reads %d)", probe.FormatVersion, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("manifest: decode: trailing data after the document")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks internal consistency; every problem is reported at once.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.FormatVersion != FormatVersion {
		bad("format version %d, want %d", m.FormatVersion, FormatVersion)
	}
	if !ValidID(m.ID) {
		bad("id %q is not a backup id", m.ID)
	}
	ext, knownCodec := CodecExt(m.Compression)
	if !knownCodec {
		bad("compression %q: %w (this plinth reads %s)", m.Compression, ErrUnknownCodec, strings.Join(Codecs(), ", "))
	}
	if m.Encryption != EncryptionAgeX25 {
		bad("encryption %q, want %q", m.Encryption, EncryptionAgeX25)
	}
	if len(m.Recipients) == 0 {
		bad("no recipients")
	}
	for _, r := range m.Recipients {
		if !hashRE.MatchString(r) {
			bad("recipient fingerprint %q is not 16 hex digits", r)
		}
	}
	if m.StartedAt.IsZero() || m.CompletedAt.Before(m.StartedAt) {
		bad("times: started %v, completed %v", m.StartedAt, m.CompletedAt)
	}
	// The server's clock, not the backup tool's (the tool's may be set, e.g. in tests): only sanity.
	if at := m.Snapshot.At; !at.IsZero() && (at.Year() < 2000 || at.Year() > 9999) {
		bad("snapshot time %v is not a server time", at)
	}
	objs := map[string]*Object{}
	for i := range m.Objects {
		o := &m.Objects[i]
		if !validName(o.Name) {
			bad("object name %q is not a relative path", o.Name)
		}
		if objs[o.Name] != nil {
			bad("object %q listed twice", o.Name)
		}
		objs[o.Name] = o
		if o.Size < 0 || o.PlainSize < 0 || o.Rows < 0 {
			bad("object %q: negative size or rows", o.Name)
		}
		if !hexRE.MatchString(o.SHA256) {
			bad("object %q: sha256 %q is not 64 hex digits", o.Name, o.SHA256)
		}
		if o.Name == ManifestName || o.Name == SealedName || o.Name == VerifiedName {
			bad("object %q: reserved name", o.Name)
		}
		if knownCodec && !strings.HasSuffix(o.Name, "."+ext+".age") {
			bad("object %q: a %s backup's object names end in .%s.age", o.Name, m.Compression, ext)
		}
	}
	if objs[m.Schema] == nil {
		bad("schema object %q not among the objects", m.Schema)
	}
	used := map[string]string{m.Schema: "schema"}
	seenTable := map[string]bool{}
	dbs := map[string]bool{}
	for _, d := range m.Databases {
		dbs[d] = true
	}
	for _, t := range m.Tables {
		if t.Schema == "" || t.Name == "" {
			bad("table with empty schema or name")
			continue
		}
		if !dbs[t.Schema] {
			bad("table %s: database %q not listed", t, t.Schema)
		}
		if seenTable[t.String()] {
			bad("table %s listed twice", t)
		}
		seenTable[t.String()] = true
		if t.Rows < 0 {
			bad("table %s: negative rows", t)
		}
		if !hashRE.MatchString(t.Hash) {
			bad("table %s: hash %q is not 16 hex digits", t, t.Hash)
		}
		var rows int64
		for _, p := range t.Parts {
			o := objs[p]
			if o == nil {
				bad("table %s: part %q not among the objects", t, p)
				continue
			}
			if by, ok := used[p]; ok {
				bad("table %s: part %q already used by %s", t, p, by)
			}
			used[p] = t.String()
			rows += o.Rows
		}
		if rows != t.Rows {
			bad("table %s: %d rows, parts hold %d", t, t.Rows, rows)
		}
	}
	for name := range objs {
		if _, ok := used[name]; !ok {
			bad("object %q belongs to no table", name)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("manifest %s invalid: %w", m.ID, errors.Join(errs...))
}

func validName(n string) bool {
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || len(n) > 1024 {
		return false
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// Size is the total ciphertext size of the backup's objects.
func (m *Manifest) Size() int64 {
	var n int64
	for _, o := range m.Objects {
		n += o.Size
	}
	return n
}

// PlainSize is the total uncompressed size.
func (m *Manifest) PlainSize() int64 {
	var n int64
	for _, o := range m.Objects {
		n += o.PlainSize
	}
	return n
}

// Rows is the total row count.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// CheckStored compares the objects found in storage (name relative to the backup -> size) with the
// manifest: every listed object and the sealed manifest must be there, each data object exactly its
// manifest size. It is the cheap check (a listing, no reads) that prune runs before trusting a backup;
// every problem is returned, in manifest order.
func (m *Manifest) CheckStored(stored map[string]int64) []string {
	var out []string
	if _, ok := stored[SealedName]; !ok {
		out = append(out, "object "+SealedName+" missing")
	}
	for _, o := range m.Objects {
		n, ok := stored[o.Name]
		switch {
		case !ok:
			out = append(out, "object "+o.Name+" missing")
		case n != o.Size:
			out = append(out, fmt.Sprintf("object %s: stored %d bytes, manifest says %d", o.Name, n, o.Size))
		}
	}
	return out
}

// Object returns the entry named name.
func (m *Manifest) Object(name string) (Object, bool) {
	for _, o := range m.Objects {
		if o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// Verified is the record of the latest verification of a backup, written by every verify that reached a
// verdict: a success (the marker prune and list trust) or a failure, which replaces an earlier success so
// that a backup found damaged is never listed or kept as verified. Markers written before failures were
// recorded carry no Failed field and read as successes.
type Verified struct {
	ID             string    `json:"id"`
	VerifiedAt     time.Time `json:"verifiedAt"`
	RestoreChecked bool      `json:"restoreChecked"`
	ToolVersion    string    `json:"toolVersion"`
	// Failed: the verification found the backup bad; Error says why (the first problem, naming the object).
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
}

// OK reports a successful verification.
func (v *Verified) OK() bool { return v != nil && !v.Failed }
