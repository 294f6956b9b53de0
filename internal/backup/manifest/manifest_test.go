package manifest_test

import (
	"bytes"
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
		Source:      manifest.Source{Address: "127.0.0.1:3306", ServerVersion: "10.11.19-MariaDB"},
		Snapshot:    manifest.Position{BinlogFile: "mysql-bin.000002", BinlogPos: 1234, GTID: "0-1-42"},
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
		"wrong encryption":   func(m *manifest.Manifest) { m.Encryption = "none" },
		"bad table hash":     func(m *manifest.Manifest) { m.Tables[0].Hash = "x" },
		"negative plainsize": func(m *manifest.Manifest) { m.Objects[0].PlainSize = -1 },
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
