package manifest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

func sample() *manifest.Manifest {
	t0 := time.Date(2026, 11, 23, 0, 45, 12, 0, time.UTC)
	return &manifest.Manifest{
		FormatVersion: manifest.FormatVersion, ID: "20261123T004512Z", ToolVersion: "v1.2.3",
		StartedAt: t0, CompletedAt: t0.Add(time.Minute),
		Source: manifest.Source{Address: "127.0.0.1:3306", ServerVersion: "10.11.19-MariaDB"},
		Snapshot: manifest.Position{BinlogFile: "mysql-bin.000002", BinlogPos: 1234, GTID: "0-1-42",
			At: t0.Add(20*time.Second + 123456*time.Microsecond)},
		Compression: manifest.CompressionZstd, Encryption: manifest.EncryptionAgeX25,
		Recipients: []string{"0123456789abcdef"}, Databases: []string{"app"}, Schema: manifest.SchemaName,
		Tables: []manifest.Table{{Schema: "app", Name: "users", Rows: 3, Hash: "00000000000000ff",
			Parts: []string{"data/app.users.00000.tsv.zst.age", "data/app.users.00001.tsv.zst.age"}}},
		Objects: []manifest.Object{
			{Name: manifest.SchemaName, Size: 10, SHA256: strings.Repeat("a", 64), PlainSize: 5},
			{Name: "data/app.users.00000.tsv.zst.age", Size: 10, SHA256: strings.Repeat("b", 64), PlainSize: 5, Rows: 2},
			{Name: "data/app.users.00001.tsv.zst.age", Size: 10, SHA256: strings.Repeat("c", 64), PlainSize: 5, Rows: 1},
		},
	}
}

// A manifest written before the snapshot's time was recorded (no "at") still decodes, with a zero At.
func TestManifestWithoutSnapshotTime(t *testing.T) {
	m := sample()
	m.Snapshot.At = time.Time{}
	b, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"at"`)) {
		t.Fatalf("zero snapshot time encoded: %s", b)
	}
	got, err := manifest.Decode(b)
	if err != nil || !got.Snapshot.At.IsZero() {
		t.Fatalf("decode: %v, at %v", err, got.Snapshot.At)
	}
	withAt, _ := manifest.Encode(sample())
	if !bytes.Contains(withAt, []byte(`"at": "2026-11-23T00:45:32.123456Z"`)) && !bytes.Contains(withAt, []byte(`"at":"2026-11-23T00:45:32.123456Z"`)) {
		t.Fatalf("snapshot time not encoded: %s", withAt)
	}
}

func TestRoundTrip(t *testing.T) {
	b, err := manifest.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := manifest.Encode(m)
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
	if m.Rows() != 3 || m.Size() != 30 {
		t.Fatalf("rows %d size %d", m.Rows(), m.Size())
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]func(m *manifest.Manifest){
		"future version":    func(m *manifest.Manifest) { m.FormatVersion = 2 },
		"bad id":            func(m *manifest.Manifest) { m.ID = "../etc" },
		"no recipients":     func(m *manifest.Manifest) { m.Recipients = nil },
		"bad sha":           func(m *manifest.Manifest) { m.Objects[1].SHA256 = "zz" },
		"path escape":       func(m *manifest.Manifest) { m.Objects[1].Name = "../x"; m.Tables[0].Parts[0] = "../x" },
		"missing part":      func(m *manifest.Manifest) { m.Tables[0].Parts = append(m.Tables[0].Parts, "data/nope") },
		"row mismatch":      func(m *manifest.Manifest) { m.Tables[0].Rows = 4 },
		"orphan object":     func(m *manifest.Manifest) { m.Tables[0].Parts = m.Tables[0].Parts[:1]; m.Tables[0].Rows = 2 },
		"duplicate object":  func(m *manifest.Manifest) { m.Objects = append(m.Objects, m.Objects[1]) },
		"unlisted database": func(m *manifest.Manifest) { m.Databases = []string{"other"} },
		"no schema":         func(m *manifest.Manifest) { m.Schema = "nope" },
		"reserved name": func(m *manifest.Manifest) {
			m.Objects[0].Name = manifest.ManifestName
			m.Schema = manifest.ManifestName
		},
		"completed < start":  func(m *manifest.Manifest) { m.CompletedAt = m.StartedAt.Add(-time.Second) },
		"snapshot time":      func(m *manifest.Manifest) { m.Snapshot.At = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC) },
		"wrong encryption":   func(m *manifest.Manifest) { m.Encryption = "none" },
		"bad table hash":     func(m *manifest.Manifest) { m.Tables[0].Hash = "x" },
		"negative plainsize": func(m *manifest.Manifest) { m.Objects[0].PlainSize = -1 },
		"no codec":           func(m *manifest.Manifest) { m.Compression = "" },
		// zstd objects under a manifest saying s2: a name that lies about its codec.
		"codec of another name": func(m *manifest.Manifest) { m.Compression = manifest.CompressionS2 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := sample()
			mutate(m)
			if _, err := manifest.Encode(m); err == nil {
				t.Fatal("Encode accepted an invalid manifest")
			}
		})
	}
}

// s2Sample is sample() compressed with s2: the same backup, its objects named for s2.
func s2Sample() *manifest.Manifest {
	m := sample()
	m.Compression = manifest.CompressionS2
	rename := func(n string) string { return strings.Replace(n, ".zst.age", ".s2.age", 1) }
	m.Schema = rename(m.Schema)
	for i := range m.Objects {
		m.Objects[i].Name = rename(m.Objects[i].Name)
	}
	for i, p := range m.Tables[0].Parts {
		m.Tables[0].Parts[i] = rename(p)
	}
	return m
}

// Both codecs round-trip; a codec this plinth does not know is refused, naming it and the codecs it reads.
func TestCodecs(t *testing.T) {
	for _, m := range []*manifest.Manifest{sample(), s2Sample()} {
		ext, ok := manifest.CodecExt(m.Compression)
		if !ok || m.Schema != manifest.SchemaObject(m.Compression) || !strings.HasSuffix(m.Schema, "."+ext+".age") {
			t.Fatalf("%s: ext %q %v, schema %q", m.Compression, ext, ok, m.Schema)
		}
		b, err := manifest.Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", m.Compression, err)
		}
		if got, err := manifest.Decode(b); err != nil || got.Compression != m.Compression {
			t.Fatalf("%s: decoded %+v, %v", m.Compression, got, err)
		}
	}
	if manifest.SchemaObject(manifest.CompressionZstd) != manifest.SchemaName || manifest.SchemaObject(manifest.CompressionS2) != "schema.json.s2.age" {
		t.Fatalf("schema names %q %q", manifest.SchemaObject(manifest.CompressionZstd), manifest.SchemaObject(manifest.CompressionS2))
	}
	good, _ := manifest.Encode(s2Sample())
	lz4 := bytes.Replace(good, []byte(`"compression": "s2"`), []byte(`"compression": "lz4"`), 1)
	_, err := manifest.Decode(lz4)
	if !errors.Is(err, manifest.ErrUnknownCodec) || !strings.Contains(err.Error(), `"lz4"`) || !strings.Contains(err.Error(), "reads zstd, s2") {
		t.Fatalf("a manifest naming lz4: %v", err)
	}
	if _, ok := manifest.CodecExt("lz4"); ok {
		t.Fatal("CodecExt knows lz4")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := manifest.Encode(sample())
	for name, in := range map[string][]byte{
		"empty":          nil,
		"not json":       []byte("hello"),
		"unknown field":  bytes.Replace(good, []byte(`"toolVersion"`), []byte(`"surprise": 1, "toolVersion"`), 1),
		"trailing":       append(append([]byte{}, good...), []byte("{}")...),
		"version 0":      bytes.Replace(good, []byte(`"formatVersion": 1`), []byte(`"formatVersion": 0`), 1),
		"truncated":      good[:len(good)/2],
		"wrong type":     bytes.Replace(good, []byte(`"rows": 3`), []byte(`"rows": "3"`), 1),
		"huge rows sums": bytes.Replace(good, []byte(`"rows": 2`), []byte(`"rows": 9223372036854775807`), 1),
	} {
		if _, err := manifest.Decode(in); err == nil {
			t.Errorf("%s: Decode accepted it", name)
		}
	}
}

func TestIDs(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	id := manifest.NewID(ts)
	if id != "20260102T020405Z" || !manifest.ValidID(id) || !manifest.ValidID(id+"-b2") {
		t.Fatalf("id %q", id)
	}
	if got, ok := manifest.TimeOfID(id); !ok || !got.Equal(ts) {
		t.Fatalf("TimeOfID = %v %v", got, ok)
	}
	for _, bad := range []string{"", "latest", "20260102T020405", "../20260102T020405Z"} {
		if manifest.ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := manifest.Encode(sample())
	f.Add(good)
	f.Add([]byte(`{"formatVersion":1}`))
	f.Add([]byte(`{"formatVersion":1,"objects":[{"name":"../../x"}]}`))
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Decode(data)
		if err != nil {
			return
		}
		b, err := manifest.Encode(m)
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		m2, err := manifest.Decode(b)
		if err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
		b2, _ := manifest.Encode(m2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("encode/decode not stable")
		}
		for _, o := range m.Objects {
			if strings.Contains(o.Name, "..") && strings.Contains(o.Name, "/") {
				for _, seg := range strings.Split(o.Name, "/") {
					if seg == ".." {
						t.Fatalf("accepted escaping object name %q", o.Name)
					}
				}
			}
		}
	})
}

func TestCheckStored(t *testing.T) {
	m := sample()
	whole := map[string]int64{manifest.SealedName: 99, manifest.ManifestName: 500, manifest.SchemaName: 10,
		"data/app.users.00000.tsv.zst.age": 10, "data/app.users.00001.tsv.zst.age": 10, manifest.VerifiedName: 80}
	if got := m.CheckStored(whole); len(got) != 0 {
		t.Fatalf("intact backup reported: %v", got)
	}
	bad := map[string]int64{manifest.SchemaName: 10, "data/app.users.00000.tsv.zst.age": 5}
	want := []string{
		"object manifest.age missing",
		"object data/app.users.00000.tsv.zst.age: stored 5 bytes, manifest says 10",
		"object data/app.users.00001.tsv.zst.age missing",
	}
	if got := m.CheckStored(bad); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestChainGaps(t *testing.T) {
	seg := func(seq int64, from, to string) manifest.Segment {
		return manifest.Segment{Seq: seq, From: from, To: to}
	}
	if g := manifest.ChainGaps([]manifest.Segment{seg(1, "0-1-5", "0-1-9"), seg(2, "0-1-9", "0-1-12")}); len(g) != 0 {
		t.Fatalf("gaps in a whole chain: %v", g)
	}
	g := manifest.ChainGaps([]manifest.Segment{seg(1, "0-1-5", "0-1-9"), seg(3, "0-1-20", "0-1-30"), seg(4, "0-1-31", "0-1-40")})
	want := "segments 2 to 2 missing (between GTID 0-1-9 and 0-1-20)\nsegment 4 starts at GTID 0-1-31 but segment 3 ended at 0-1-30"
	if strings.Join(g, "\n") != want {
		t.Fatalf("gaps:\n%s\nwant\n%s", strings.Join(g, "\n"), want)
	}
}
