package backup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/blobstore/blobstoretest"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

var srv *mysqltest.Server

func TestMain(m *testing.M) { mysqltest.Main(m, mysqltest.Options{BufferPool: "128M"}, &srv) }

type keys struct {
	rcpt backup.Recipients
	ids  backup.Identities
	id   *age.X25519Identity
}

func newKeys(t *testing.T) keys {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := backup.ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := backup.ParseIdentities(strings.NewReader(id.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return keys{rcpt: r, ids: ids, id: id}
}

// seed creates database db with a few tables of varied shapes.
func seed(t *testing.T, db string, rows int) {
	t.Helper()
	q := func(s string) string { return strings.ReplaceAll(s, "DB", "`"+db+"`") }
	srv.Exec(t, q("DROP DATABASE IF EXISTS DB"), q("CREATE DATABASE DB"),
		q("CREATE TABLE DB.users (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100) NOT NULL, note TEXT, created DATETIME, UNIQUE KEY ue (email), KEY kc (created))"),
		q("CREATE TABLE DB.orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, amount DECIMAL(12,2), payload BLOB, KEY ku (user_id))"),
		q("CREATE TABLE DB.empty_table (id INT PRIMARY KEY)"),
		q("CREATE TABLE DB.parent (id INT PRIMARY KEY)"),
		q("CREATE TABLE DB.child (id INT PRIMARY KEY, p INT, KEY kp (p), CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id))"),
		q("INSERT INTO DB.parent VALUES (1),(2)"), q("INSERT INTO DB.child VALUES (10,1),(11,2),(12,NULL)"),
	)
	d := srv.Open(t, db)
	for i := 0; i < rows; i += 500 {
		var u, o []string
		for j := i; j < min(i+500, rows); j++ {
			u = append(u, fmt.Sprintf("(%d,'user%d@example.com','note\t%d\\\\ line\nnext',FROM_UNIXTIME(%d))", j+1, j, j, 1700000000+j))
			o = append(o, fmt.Sprintf("(%d,%d,%d.%02d,UNHEX(SHA2('%d',256)))", j+1, j%97+1, j, j%100, j))
		}
		if _, err := d.Exec("INSERT INTO users VALUES " + strings.Join(u, ",")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec("INSERT INTO orders VALUES " + strings.Join(o, ",")); err != nil {
			t.Fatal(err)
		}
	}
}

func checksums(t *testing.T, db string) map[string]int64 {
	t.Helper()
	d := srv.Open(t, "")
	out := map[string]int64{}
	for _, tb := range []string{"users", "orders", "empty_table", "parent", "child"} {
		var name string
		var sum int64
		if err := d.QueryRow(fmt.Sprintf("CHECKSUM TABLE `%s`.`%s`", db, tb)).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		out[tb] = sum
	}
	return out
}

func memStore(t *testing.T) *blobstore.Store {
	s, err := blobstore.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func runBackup(t *testing.T, st backup.Store, k keys, db string, now time.Time) *manifest.Manifest {
	t.Helper()
	return runBackupWith(t, st, k, db, now, "")
}

// codecs are the --compression values every codec-dependent test runs with: s2 and zstd.
var codecs = []string{"s2", "fastest"}

// runBackupWith takes a backup compressed as --compression comp says ("": the default) and checks that the
// manifest records the codec and every object's name says it.
func runBackupWith(t *testing.T, st backup.Store, k keys, db string, now time.Time, comp string) *manifest.Manifest {
	t.Helper()
	c, err := backup.ParseCompression(comp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.Run(context.Background(), backup.RunOptions{
		DB: srv.Open(t, ""), DSN: srv.DSN(""), Address: srv.Addr(), Store: st, Recipients: k.rcpt, Databases: []string{db},
		Workers: 3, PartSize: 32 << 10, Compression: c, Tool: "test", Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCodecNames(t, m, c.Codec)
	return m
}

func checkCodecNames(t *testing.T, m *manifest.Manifest, codec string) {
	t.Helper()
	ext, _ := manifest.CodecExt(codec)
	if m.Compression != codec || m.Schema != "schema.json."+ext+".age" {
		t.Fatalf("manifest compression %q schema %q, want %s", m.Compression, m.Schema, codec)
	}
	for _, o := range m.Objects {
		if !strings.HasSuffix(o.Name, ".tsv."+ext+".age") && o.Name != m.Schema {
			t.Fatalf("object %s of a %s backup", o.Name, codec)
		}
	}
}

var clock = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

func TestRoundTripStores(t *testing.T) {
	seed(t, "shop", 3000)
	want := checksums(t, "shop")
	stores := map[string]func(t *testing.T) backup.Store{
		"mem": func(t *testing.T) backup.Store { return memStore(t) },
		"file": func(t *testing.T) backup.Store {
			s, err := blobstore.Open(context.Background(), "file://"+t.TempDir()+"?metadata=skip")
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"gcs-emulator": func(t *testing.T) backup.Store {
			gcs := blobstoretest.GCSServer(t, "vault")
			u, _ := url.Parse(gcs.URL())
			t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
			s, err := blobstore.Open(context.Background(), "gs://vault?prefix=production/")
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for _, comp := range codecs {
		for store, open := range stores {
			name := store + "-" + comp
			t.Run(name, func(t *testing.T) { roundTrip(t, name, open(t), comp, want) })
		}
	}
}

// roundTrip backs shop up into st, lists, verifies with a restore into a scratch database and compares it.
func roundTrip(t *testing.T, name string, st backup.Store, comp string, want map[string]int64) {
	ctx := context.Background()
	k := newKeys(t)
	m := runBackupWith(t, st, k, "shop", clock, comp)
	if len(m.Tables) != 5 || m.Rows() != 6005 || m.Snapshot.GTID == "" || m.Snapshot.BinlogFile == "" {
		t.Fatalf("manifest: %d tables %d rows snapshot %+v", len(m.Tables), m.Rows(), m.Snapshot)
	}
	var usersParts int
	for _, tb := range m.Tables {
		if tb.Name == "users" {
			usersParts = len(tb.Parts)
		}
	}
	if usersParts < 3 {
		t.Fatalf("users stored in %d parts, want several (PartSize 32 KiB)", usersParts)
	}
	entries, err := backup.List(ctx, st)
	if err != nil || len(entries) != 1 || !entries[0].Restorable() {
		t.Fatalf("list: %+v %v", entries, err)
	}
	scratch := "shop_verify_" + name
	scratch = strings.ReplaceAll(scratch, "-", "_")
	srv.Exec(t, "DROP DATABASE IF EXISTS "+scratch)
	rep, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids,
		RestoreInto: srv.Open(t, ""), Rename: map[string]string{"shop": scratch}, Mark: true, Tool: "test"})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK || !rep.RestoreChecked || !rep.SealedManifest || !rep.Marked || len(rep.Objects) != len(m.Objects) {
		t.Fatalf("verify report: %+v", rep)
	}
	if rep.Binlog == nil || rep.Binlog.Unavailable != backup.NoSegments || rep.Binlog.From != m.Snapshot.GTID {
		t.Fatalf("verify of a store without binlog segments: binlog %+v, want %q", rep.Binlog, backup.NoSegments)
	}
	for _, tc := range rep.Tables {
		if !tc.OK || tc.RestoredRows == nil || *tc.RestoredRows != tc.Rows || tc.RestoredHash != tc.Hash {
			t.Fatalf("table check %+v", tc)
		}
	}
	if got := checksums(t, scratch); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CHECKSUM TABLE after verify restore: %v, want %v", got, want)
	}
	entries, _ = backup.List(ctx, st)
	if entries[0].Verified == nil || !entries[0].Verified.RestoreChecked {
		t.Fatalf("verified marker not listed: %+v", entries[0])
	}
}

func TestRestoreRefusesNonEmptyTargetWithoutForce(t *testing.T) {
	ctx := context.Background()
	seed(t, "refuse", 200)
	want := checksums(t, "refuse")
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "refuse", clock)
	srv.Exec(t, "DROP DATABASE IF EXISTS refuse_target", "CREATE DATABASE refuse_target", "CREATE TABLE refuse_target.users (x INT)", "INSERT INTO refuse_target.users VALUES (42)")
	opts := backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""), Rename: map[string]string{"refuse": "refuse_target"}, Workers: 2}
	_, err := backup.Restore(ctx, opts)
	if !errors.Is(err, backup.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "refuse_target") {
		t.Fatalf("restore into non-empty target: %v", err)
	}
	var x int
	if err := srv.Open(t, "").QueryRow("SELECT x FROM refuse_target.users").Scan(&x); err != nil || x != 42 {
		t.Fatalf("target was modified: %d %v", x, err)
	}
	opts.Force = true
	rep, err := backup.Restore(ctx, opts)
	if err != nil || rep.Rows != 405 {
		t.Fatalf("forced restore: %+v %v", rep, err)
	}
	if got := checksums(t, "refuse_target"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("checksums %v want %v", got, want)
	}
}

// objectsOf lists every key of the store.
func objectsOf(t *testing.T, st *blobstore.Store) []string {
	objs, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func rewrite(t *testing.T, st *blobstore.Store, key string, f func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	r, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	w, err := st.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(f(b))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedAndTruncatedObjects(t *testing.T) {
	ctx := context.Background()
	seed(t, "tamper", 1000)
	for _, c := range []struct {
		name string
		f    func([]byte) []byte
	}{
		{"flip-one-byte", func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }},
		{"truncate", func(b []byte) []byte { return b[:len(b)-100] }},
	} {
		for _, comp := range codecs {
			t.Run(c.name+"-"+comp, func(t *testing.T) {
				st, k := memStore(t), newKeys(t)
				m := runBackupWith(t, st, k, "tamper", clock, comp)
				victim := m.Tables[len(m.Tables)-1].Parts
				var part string
				for _, tb := range m.Tables {
					if tb.Name == "orders" {
						part = tb.Parts[1]
					}
				}
				_ = victim
				rewrite(t, st, m.ID+"/"+part, c.f)
				before := objectsOf(t, st)
				rep, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids, Mark: true})
				if !errors.Is(err, backup.ErrVerifyFailed) || !errors.Is(err, backup.ErrTampered) {
					t.Fatalf("verify: %v", err)
				}
				if !strings.Contains(err.Error(), m.ID) || !strings.Contains(err.Error(), part) {
					t.Fatalf("error does not name backup and object: %v", err)
				}
				if rep == nil || rep.OK || rep.Marked || !rep.MarkedFailed {
					t.Fatalf("report: %+v", rep)
				}
				bad := 0
				for _, oc := range rep.Objects {
					if !oc.OK {
						bad++
						if oc.Name != part {
							t.Fatalf("object %s reported bad", oc.Name)
						}
					}
				}
				if bad != 1 {
					t.Fatalf("%d bad objects reported", bad)
				}
				srv.Exec(t, "DROP DATABASE IF EXISTS tamper_restore")
				_, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""),
					Rename: map[string]string{"tamper": "tamper_restore"}, Workers: 1})
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Fatalf("restore of tampered backup: %v", err)
				}
				// All or nothing: the target database was never created.
				if dbExists(t, "tamper_restore") {
					t.Fatal("a failed restore created its target database")
				}
				// The failed verify replaced no object, and recorded its failure.
				before = append(before, m.ID+"/"+manifest.VerifiedName)
				sort.Strings(before)
				if after := objectsOf(t, st); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("objects changed by a failed verify: %v -> %v", before, after)
				}
			})
		}
	}
}

func TestWrongIdentity(t *testing.T) {
	ctx := context.Background()
	seed(t, "wrongkey", 50)
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "wrongkey", clock)
	other := newKeys(t)
	_, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: other.ids})
	if !errors.Is(err, backup.ErrWrongKey) || !strings.Contains(err.Error(), m.ID) || !strings.Contains(err.Error(), other.ids.Fingerprints()[0]) {
		t.Fatalf("verify with wrong key: %v", err)
	}
	_, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: other.ids, Target: srv.Open(t, "")})
	if !errors.Is(err, backup.ErrWrongKey) {
		t.Fatalf("restore with wrong key: %v", err)
	}
}

func TestManifestTamperDetected(t *testing.T) {
	ctx := context.Background()
	seed(t, "mtamper", 50)
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "mtamper", clock)
	rewrite(t, st, m.ID+"/manifest.json", func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"toolVersion": "test"`, `"toolVersion": "evil"`, 1))
	})
	_, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids})
	if !errors.Is(err, backup.ErrTampered) || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("verify with edited manifest: %v", err)
	}
}

// failingStore makes every object write fail once the backup has written limit bytes: a crash mid-upload.
type failingStore struct {
	*blobstore.Store
	limit   int64
	written atomic.Int64
}

type failingWriter struct {
	blobstore.Writer
	s *failingStore
}

func (w failingWriter) Write(p []byte) (int, error) {
	if w.s.written.Add(int64(len(p))) > w.s.limit {
		return 0, errors.New("connection reset by peer (injected)")
	}
	return w.Writer.Write(p)
}

func (s *failingStore) Create(ctx context.Context, key string) (blobstore.Writer, error) {
	w, err := s.Store.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return failingWriter{Writer: w, s: s}, nil
}

func TestKilledMidUploadIsIncompleteAndPruned(t *testing.T) {
	ctx := context.Background()
	seed(t, "crash", 3000)
	mem := memStore(t)
	k := newKeys(t)
	good := runBackup(t, mem, k, "crash", clock.Add(-24*time.Hour))
	fs := &failingStore{Store: mem, limit: 100 << 10}
	_, err := backup.Run(ctx, backup.RunOptions{DB: srv.Open(t, ""), Store: fs, Recipients: k.rcpt, Databases: []string{"crash"},
		Workers: 2, PartSize: 16 << 10, Now: func() time.Time { return clock }})
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("backup through failing store: %v", err)
	}
	crashedID := manifest.NewID(clock)
	if objs := objectsOf(t, mem); !strings.Contains(strings.Join(objs, " "), crashedID+"/data/") {
		t.Fatalf("expected partial objects of %s, have %v", crashedID, objs)
	}
	entries, err := backup.List(ctx, mem)
	if err != nil || len(entries) != 2 {
		t.Fatalf("list: %+v %v", entries, err)
	}
	if entries[0].ID != crashedID || entries[0].Complete || entries[0].Restorable() || !entries[1].Restorable() {
		t.Fatalf("crashed backup listed as restorable: %+v", entries)
	}
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: mem, ID: crashedID, Identities: k.ids}); !errors.Is(err, backup.ErrIncomplete) {
		t.Fatalf("verify incomplete: %v", err)
	}
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Store: mem, ID: crashedID, Identities: k.ids, Target: srv.Open(t, "")}); !errors.Is(err, backup.ErrIncomplete) {
		t.Fatalf("restore incomplete: %v", err)
	}
	policy := retention.Policy{KeepLast: 5, IncompleteGrace: time.Hour}
	// Within the grace period it may still be running: kept.
	rep, err := backup.Prune(ctx, backup.PruneOptions{Store: mem, Policy: policy, Now: clock.Add(time.Minute)})
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("prune within grace: %+v %v", rep, err)
	}
	// Later: dry run reports, deletes nothing.
	later := time.Now().Add(2 * time.Hour)
	rep, err = backup.Prune(ctx, backup.PruneOptions{Store: mem, Policy: policy, Now: later, DryRun: true})
	if err != nil || len(rep.Removed) != 0 || rep.Decisions[0].Keep {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	if objs := objectsOf(t, mem); !strings.Contains(strings.Join(objs, " "), crashedID) {
		t.Fatal("dry run deleted objects")
	}
	rep, err = backup.Prune(ctx, backup.PruneOptions{Store: mem, Policy: policy, Now: later})
	if err != nil || len(rep.Removed) != 1 || rep.Removed[0] != crashedID {
		t.Fatalf("prune: %+v %v", rep, err)
	}
	for _, o := range objectsOf(t, mem) {
		if !strings.HasPrefix(o, good.ID+"/") {
			t.Fatalf("object %s left after prune", o)
		}
	}
}

func TestPruneKeepsNewestVerified(t *testing.T) {
	ctx := context.Background()
	seed(t, "prune", 20)
	st, k := memStore(t), newKeys(t)
	var ids []string
	for i := 0; i < 4; i++ {
		m := runBackup(t, st, k, "prune", clock.Add(time.Duration(i)*time.Hour))
		ids = append(ids, m.ID)
	}
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: ids[0], Identities: k.ids, Mark: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 1}, Now: clock.Add(5 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Removed) != fmt.Sprint([]string{ids[2], ids[1]}) {
		t.Fatalf("removed %v, want %v", rep.Removed, []string{ids[2], ids[1]})
	}
	entries, _ := backup.List(ctx, st)
	if len(entries) != 2 || entries[0].ID != ids[3] || entries[1].ID != ids[0] {
		t.Fatalf("left: %+v", entries)
	}
}

func TestUnreachableStore(t *testing.T) {
	st, err := blobstore.Open(context.Background(), "file:///nonexistent/plinth/vault")
	if err == nil {
		_, err = backup.List(context.Background(), st)
	}
	if err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("unreachable store: %v", err)
	}
}

func TestNewIdentityFileEncryptsAndRestoresABackup(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "backup.key")
	kp, err := backup.WriteNewIdentity(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v %v", fi.Mode(), err)
	}
	// A backup encrypted to the printed public key verifies with the written identity.
	rcpt, err := backup.ParseRecipients([]string{kp.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := backup.ReadIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ids.Fingerprints()[0] != kp.Fingerprint {
		t.Fatalf("fingerprint %s, file says %s", kp.Fingerprint, ids.Fingerprints()[0])
	}
	seed(t, "keygen", 20)
	st := memStore(t)
	m := runBackup(t, st, keys{rcpt: rcpt, ids: ids}, "keygen", clock)
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: ids}); err != nil {
		t.Fatal(err)
	}
	// An existing identity is never replaced.
	before, _ := os.ReadFile(path)
	if _, err := backup.WriteNewIdentity(path, clock); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("second keygen to the same file: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("the existing identity file was changed")
	}
}

// TestOncePerTakesOneBackupPerPeriod: every worker's timer runs `backup run --once-per 1h`; of the runs in
// one period the first takes the backup and the others none (ErrSlotTaken), and the next period gets its own.
func TestOncePerTakesOneBackupPerPeriod(t *testing.T) {
	seed(t, "slots", 50)
	st, k := memStore(t), newKeys(t)
	run := func(now time.Time) error {
		_, err := backup.Run(context.Background(), backup.RunOptions{
			DB: srv.Open(t, ""), Address: srv.Addr(), Store: st, Recipients: k.rcpt, Databases: []string{"slots"},
			Workers: 2, Tool: "test", Now: func() time.Time { return now }, OncePer: time.Hour, Holder: "worker",
		})
		return err
	}
	at := time.Date(2026, 12, 3, 3, 15, 0, 0, time.UTC)
	if err := run(at); err != nil {
		t.Fatal(err)
	}
	for _, later := range []time.Time{at, at.Add(40 * time.Minute)} {
		if err := run(later); !errors.Is(err, backup.ErrSlotTaken) || !strings.Contains(err.Error(), "locks/backup-run/20261203T030000Z") {
			t.Errorf("second run at %s: %v, want ErrSlotTaken naming the claim", later.Format(time.TimeOnly), err)
		}
	}
	if err := run(at.Add(24 * time.Hour)); err != nil {
		t.Errorf("next day: %v", err)
	}
	entries, err := backup.List(context.Background(), st)
	if err != nil || len(entries) != 2 {
		t.Errorf("backups: %d (%v), want 2 (one a day); the claims are not backups", len(entries), err)
	}
	if err := backup.ClaimSlot(context.Background(), st, 0, at, "x"); err == nil {
		t.Error("a zero period was accepted")
	}
}
