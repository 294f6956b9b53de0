package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/blobstore"
)

// A store holding backups of both codecs (zstd from before s2, then s2, then zstd again by choice) lists,
// verifies, restores and prunes them alike: the codec is per backup, read from each manifest.
func TestMixedCodecChain(t *testing.T) {
	ctx := context.Background()
	seed(t, "mixed", 600)
	want := checksums(t, "mixed")
	st, k := memStore(t), newKeys(t)
	var ms []*manifest.Manifest
	for i, comp := range []string{"fastest", "s2", "default", "s2"} {
		ms = append(ms, runBackupWith(t, st, k, "mixed", clock.Add(time.Duration(i)*time.Hour), comp))
	}
	entries, err := backup.List(ctx, st)
	if err != nil || len(entries) != len(ms) {
		t.Fatalf("list: %+v %v", entries, err)
	}
	for i, e := range entries {
		m := ms[len(ms)-1-i]
		if e.ID != m.ID || !e.Restorable() || e.NotIntact() != "" || e.Manifest.Compression != m.Compression || e.Rows != m.Rows() {
			t.Fatalf("entry %d: %+v (want %s, %s)", i, e, m.ID, m.Compression)
		}
	}
	// Sizes: the same rows in both codecs, the s2 objects bigger but not absurdly.
	if zs, s2s := ms[0].Size(), ms[1].Size(); ms[0].PlainSize() != ms[1].PlainSize() || s2s < zs || s2s > 3*zs {
		t.Errorf("plain %d/%d bytes: zstd fastest %d, s2 %d", ms[0].PlainSize(), ms[1].PlainSize(), zs, s2s)
	}
	for _, m := range ms[:2] {
		back := "mixed_" + m.Compression
		srv.Exec(t, "DROP DATABASE IF EXISTS "+back)
		if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids, Mark: true,
			RestoreInto: srv.Open(t, ""), Rename: map[string]string{"mixed": back}, Workers: 2}); err != nil {
			t.Fatalf("verify %s (%s): %v", m.ID, m.Compression, err)
		}
		if got := checksums(t, back); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s restored: %v, want %v", m.Compression, got, want)
		}
	}
	// Keep the last one: the newest verified (the s2 backup ms[1]) stays too, the others go, whatever codec.
	rep, err := backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 1}, Now: clock.Add(5 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Removed) != fmt.Sprint([]string{ms[2].ID, ms[0].ID}) {
		t.Fatalf("removed %v, want %v", rep.Removed, []string{ms[2].ID, ms[0].ID})
	}
	for _, o := range objectsOf(t, st) {
		if !strings.HasPrefix(o, ms[3].ID+"/") && !strings.HasPrefix(o, ms[1].ID+"/") {
			t.Fatalf("object %s left after prune", o)
		}
	}
}

// reseal replaces the manifest of backup m (plaintext and sealed copy) with body: what a writer holding the
// recipients' public key could store.
func reseal(t *testing.T, st *blobstore.Store, k keys, m *manifest.Manifest, body []byte) {
	t.Helper()
	put := func(key string, b []byte) {
		w, err := st.Create(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	put(m.ID+"/"+manifest.ManifestName, body)
	put(m.ID+"/"+manifest.SealedName, encrypt(t, k, body))
}

func encrypt(t *testing.T, k keys, plain []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, k.id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A data object whose s2 stream is corrupt but whose ciphertext matches the manifest (written so, not
// damaged in storage: that is the sha256 check, TestTamperedAndTruncatedObjects) is caught by the s2
// decoder: verify and restore fail naming the object and the decoder's error, and restore commits nothing.
func TestCorruptS2DataNamedByDecoder(t *testing.T) {
	ctx := context.Background()
	seed(t, "s2bad", 1000)
	st, k := memStore(t), newKeys(t)
	m := runBackupWith(t, st, k, "s2bad", clock, "s2")
	var part string
	for _, tb := range m.Tables {
		if tb.Name == "orders" {
			part = tb.Parts[1]
		}
	}
	var stored []byte
	rewrite(t, st, m.ID+"/"+part, func(ct []byte) []byte {
		ar, err := age.Decrypt(bytes.NewReader(ct), k.id)
		if err != nil {
			t.Fatal(err)
		}
		s2data, err := io.ReadAll(ar)
		if err != nil {
			t.Fatal(err)
		}
		s2data[len(s2data)/2] ^= 0x40
		stored = encrypt(t, k, s2data)
		return stored
	})
	sum := sha256.Sum256(stored)
	for i := range m.Objects {
		if m.Objects[i].Name == part {
			m.Objects[i].Size, m.Objects[i].SHA256 = int64(len(stored)), hex.EncodeToString(sum[:])
		}
	}
	body, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	reseal(t, st, k, m, body)

	_, err = backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids})
	if !errors.Is(err, backup.ErrVerifyFailed) || errors.Is(err, backup.ErrTampered) {
		t.Fatalf("verify: %v, want a failure that is no sha256 mismatch", err)
	}
	if msg := err.Error(); !strings.Contains(msg, part) || !strings.Contains(msg, "decrypt/decompress: s2:") {
		t.Fatalf("verify error does not name the object and the s2 decoder: %v", err)
	}
	srv.Exec(t, "DROP DATABASE IF EXISTS s2bad_restore")
	_, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""),
		Rename: map[string]string{"s2bad": "s2bad_restore"}, Workers: 2})
	if err == nil || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "s2:") {
		t.Fatalf("restore: %v", err)
	}
	if dbExists(t, "s2bad_restore") {
		t.Fatal("a failed restore created its target database")
	}
}

// A manifest naming a codec this plinth does not know is refused by every verb, naming the codec; prune
// keeps the backup (not intact, for inspection) rather than removing what it cannot read.
func TestUnknownCodecRefused(t *testing.T) {
	ctx := context.Background()
	seed(t, "lz4", 20)
	st, k := memStore(t), newKeys(t)
	good := runBackupWith(t, st, k, "lz4", clock.Add(-time.Hour), "s2")
	m := runBackupWith(t, st, k, "lz4", clock, "s2")
	body, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	reseal(t, st, k, m, bytes.Replace(body, []byte(`"compression": "s2"`), []byte(`"compression": "lz4"`), 1))
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, manifest.ErrUnknownCodec) || !strings.Contains(err.Error(), `compression "lz4"`) || !strings.Contains(err.Error(), m.ID) {
			t.Errorf("%s: %v, want an error naming the codec lz4 and the backup", what, err)
		}
	}
	_, err = backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids})
	check("verify", err)
	_, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""),
		Rename: map[string]string{"lz4": "lz4_restore"}})
	check("restore", err)
	entries, err := backup.List(ctx, st)
	if err != nil || len(entries) != 2 || entries[0].Restorable() || !strings.Contains(entries[0].NotIntact(), `compression "lz4"`) ||
		entries[1].ID != good.ID || !entries[1].Restorable() {
		t.Fatalf("list: %+v %v", entries, err)
	}
	rep, err := backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 1}, Now: clock.Add(time.Hour)})
	if err != nil || len(rep.Removed) != 0 || len(rep.Decisions) != 2 {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	for _, d := range rep.Decisions {
		if !d.Keep || (d.ID == m.ID) != strings.Contains(strings.Join(d.Reasons, " "), `compression "lz4"`) {
			t.Errorf("prune decision %+v", d)
		}
	}
}
