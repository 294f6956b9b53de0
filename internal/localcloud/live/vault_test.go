package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/plinth-dev/plinth/internal/blobstore"
)

const (
	writerToken  = "writer-token-0123456789"
	restoreToken = "restore-token-0123456789"
	adminToken   = "admin-token-0123456789"
	vaultBucket  = "plinth-backups-test"
)

// bearer adds a token to every request (the identity a workload's credentials resolve to).
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

func startVault(t *testing.T, dt *DataTier, p *Platform, dir string) *Vault {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v, err := dt.ServeVault(l, VaultOptions{Bucket: vaultBucket, Retention: time.Hour, WriterToken: writerToken,
		RestoreToken: restoreToken, AdminToken: adminToken, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func gcsClient(t *testing.T, p *Platform, v *Vault, token string) *storage.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: testTLS(t, p, "127.0.0.1")}
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(v.Endpoint()),
		option.WithHTTPClient(&http.Client{Transport: bearer{token, tr}, Timeout: 30 * time.Second}), storage.WithJSONReads())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func put(ctx context.Context, c *storage.Client, name string, data []byte, chunk int) error {
	w := c.Bucket(vaultBucket).Object(name).NewWriter(ctx)
	w.ChunkSize = chunk
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

func get(ctx context.Context, c *storage.Client, name string) ([]byte, error) {
	r, err := c.Bucket(vaultBucket).Object(name).NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func list(ctx context.Context, c *storage.Client) ([]string, error) {
	var names []string
	it := c.Bucket(vaultBucket).Objects(ctx, nil)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return names, err
		}
		names = append(names, a.Name)
	}
}

func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != code {
		t.Errorf("%s: %v, want HTTP %d", what, err, code)
	}
}

// TestLiveVault serves the vault and checks it with the real GCS client and the project's blobstore: the
// writer only creates (single-request and resumable uploads), the restore identity only reads and lists, an
// object under retention cannot be deleted or overwritten by anyone until it ages out, no token is refused,
// and the objects outlive a restart.
func TestLiveVault(t *testing.T) {
	if err := Check(); err != nil {
		if os.Geteuid() != 0 {
			t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
		}
		t.Fatal(err)
	}
	p, err := New(Options{ID: "tv1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dt := NewDataTier(p)
	t.Cleanup(func() { _ = dt.Close(); _ = p.Close() })
	store := t.TempDir()
	v := startVault(t, dt, p, store)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	writer, restore, admin := gcsClient(t, p, v, writerToken), gcsClient(t, p, v, restoreToken), gcsClient(t, p, v, adminToken)
	nobody := gcsClient(t, p, v, "")

	small := []byte("backup manifest")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, resumable in 256 KiB chunks
	if err := put(ctx, writer, "backups/1/manifest.json", small, 0); err != nil {
		t.Fatalf("writer create: %v", err)
	}
	// The binlog chain's head, as a standby streamer (the writer) finds it: the index reads back, a missing
	// one is 404 (not refused: the streamer probes), the segment's data is refused.
	index := []byte(`{"seq": 1}`)
	if err := put(ctx, writer, "s/binlog/0000000001.json", index, 0); err != nil {
		t.Fatalf("writer create index: %v", err)
	}
	if err := put(ctx, writer, "s/binlog/0000000001-0a1b2c3d.binlog.zst.age", small, 0); err != nil {
		t.Fatalf("writer create segment: %v", err)
	}
	if got, err := get(ctx, writer, "s/binlog/0000000001.json"); err != nil || !bytes.Equal(got, index) {
		t.Errorf("writer read of an index: %q %v", got, err)
	}
	_, err = get(ctx, writer, "s/binlog/0000000002.json")
	wantCode(t, "writer read of a missing index", err, 404)
	_, err = get(ctx, writer, "s/binlog/0000000001-0a1b2c3d.binlog.zst.age")
	wantCode(t, "writer read of a segment", err, 403)
	if err := put(ctx, writer, "backups/1/data.zst", big, 256<<10); err != nil {
		t.Fatalf("writer resumable create: %v", err)
	}
	_, err = get(ctx, writer, "backups/1/manifest.json")
	wantCode(t, "writer read", err, 403)
	_, err = list(ctx, writer)
	wantCode(t, "writer list", err, 403)
	wantCode(t, "writer overwrite", put(ctx, writer, "backups/1/manifest.json", []byte("x"), 0), 403)
	wantCode(t, "writer resumable overwrite", put(ctx, writer, "backups/1/data.zst", big, 256<<10), 403)
	wantCode(t, "writer delete", writer.Bucket(vaultBucket).Object("backups/1/manifest.json").Delete(ctx), 403)

	if got, err := get(ctx, restore, "backups/1/data.zst"); err != nil || !bytes.Equal(got, big) {
		t.Errorf("restore read: %d bytes, %v", len(got), err)
	}
	if names, err := list(ctx, restore); err != nil || len(names) != 4 {
		t.Errorf("restore list: %v %v", names, err)
	}
	wantCode(t, "restore create", put(ctx, restore, "backups/2/manifest.json", small, 0), 403)
	wantCode(t, "restore delete", restore.Bucket(vaultBucket).Object("backups/1/manifest.json").Delete(ctx), 403)
	_, err = list(ctx, nobody)
	wantCode(t, "no token", err, 401)

	// Retention: not even the admin deletes or overwrites a young object; once it has aged out, it may.
	wantCode(t, "admin delete under retention", admin.Bucket(vaultBucket).Object("backups/1/manifest.json").Delete(ctx), 403)
	wantCode(t, "admin overwrite under retention", put(ctx, admin, "backups/1/manifest.json", []byte("x"), 0), 403)
	v.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := admin.Bucket(vaultBucket).Object("backups/1/manifest.json").Delete(ctx); err != nil {
		t.Errorf("admin delete after retention: %v", err)
	}
	// Aged out or not, the writer never overwrites (single-request and resumable uploads alike).
	wantCode(t, "writer overwrite after retention", put(ctx, writer, "backups/1/data.zst", []byte("x"), 0), 403)
	wantCode(t, "writer resumable overwrite after retention", put(ctx, writer, "backups/1/data.zst", big, 256<<10), 403)
	wantCode(t, "writer delete after retention", writer.Bucket(vaultBucket).Object("backups/1/data.zst").Delete(ctx), 403)
	v.now = time.Now

	// The project's blobstore over the same identities.
	ws, err := blobstore.FromGCSClient(ctx, writer, vaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	bw, err := ws.Create(ctx, "backups/2/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bw.Write(small)
	if err := bw.Close(); err != nil {
		t.Fatalf("blobstore writer create: %v", err)
	}
	if r, err := ws.Open(ctx, "backups/2/manifest.json"); err == nil {
		_ = r.Close()
		t.Error("blobstore: the writer opened an object")
	}
	// A scheduled run's claim (backup.ClaimSlot): the writer's conditional create wins once; a second
	// claim of the same period is told the object exists (412, not the writer's 403), and writes nothing.
	for i, want := range []bool{true, false} {
		if got, err := ws.CreateIfAbsent(ctx, "locks/backup-run/20261203T030000Z", []byte(fmt.Sprint(i))); err != nil || got != want {
			t.Errorf("claim %d: %v %v, want %v", i+1, got, err, want)
		}
	}
	if got, err := get(ctx, restore, "locks/backup-run/20261203T030000Z"); err != nil || string(got) != "0" {
		t.Errorf("the claim holds %q (%v), want the first claimant's", got, err)
	}
	rs, err := blobstore.FromGCSClient(ctx, restore, vaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.CreateIfAbsent(ctx, "locks/backup-run/20261203T040000Z", nil); err == nil {
		t.Error("the restore identity created a claim")
	}
	if objs, err := rs.List(ctx, "backups/"); err != nil || len(objs) != 2 {
		t.Errorf("blobstore restore list: %v %v", objs, err)
	}
	testVaultURL(ctx, t, p, v)
	if st := dt.Vault(); st == nil || st.Bucket != vaultBucket || st.URL != v.URL() || st.RetentionSeconds != 3600 {
		t.Errorf("status: %+v", st)
	}

	// Long-lived: a restarted vault serves the same objects.
	if err := dt.Close(); err != nil {
		t.Fatal(err)
	}
	v2 := startVault(t, dt, p, store)
	if got, err := get(ctx, gcsClient(t, p, v2, restoreToken), "backups/2/manifest.json"); err != nil || !bytes.Equal(got, small) {
		t.Errorf("after a restart: %q %v", got, err)
	}
}

func TestClassifyVaultRequest(t *testing.T) {
	for _, c := range []struct {
		method, path, query string
		want                vaultOp
	}{
		{"GET", "/storage/v1/b/bk/o", "prefix=a", vaultOp{Kind: opList, Bucket: "bk"}},
		{"GET", "/storage/v1/b/bk/o/a%2Fb", "alt=media", vaultOp{Kind: opRead, Bucket: "bk", Object: "a/b"}},
		{"HEAD", "/download/storage/v1/b/bk/o/a%2Fb", "", vaultOp{Kind: opRead, Bucket: "bk", Object: "a/b"}},
		{"GET", "/bk/a/b", "", vaultOp{Kind: opRead, Bucket: "bk", Object: "a/b"}},
		{"DELETE", "/storage/v1/b/bk/o/a%2Fb", "", vaultOp{Kind: opDelete, Bucket: "bk", Object: "a/b"}},
		{"POST", "/upload/storage/v1/b/bk/o", "uploadType=media&name=x", vaultOp{Kind: opCreate, Bucket: "bk", Object: "x"}},
		{"PUT", "/upload/storage/v1/b/bk/o", "uploadType=resumable&upload_id=1", vaultOp{Kind: opContinue, Bucket: "bk"}},
		{"PATCH", "/storage/v1/b/bk/o/x", "", vaultOp{Kind: opOther}},
		{"POST", "/storage/v1/b/bk/o/x/rewriteTo/b/bk/o/y", "", vaultOp{Kind: opOther}},
		{"POST", "/storage/v1/b/bk/o/x/compose", "", vaultOp{Kind: opOther}},
		{"GET", "/storage/v1/b/bk/o/x/acl", "", vaultOp{Kind: opOther}},
		{"DELETE", "/storage/v1/b/bk", "", vaultOp{Kind: opOther}},
		{"PATCH", "/storage/v1/b/bk", "", vaultOp{Kind: opOther}},
		{"PUT", "/_internal/config", "", vaultOp{Kind: opOther}},
		{"POST", "/_internal/delete_all", "", vaultOp{Kind: opOther}},
		{"POST", "/batch/storage/v1", "", vaultOp{Kind: opOther}},
	} {
		q, _ := url.ParseQuery(c.query)
		if got := classifyVaultRequest(c.method, c.path, q); got != c.want {
			t.Errorf("%s %s?%s: %+v, want %+v", c.method, c.path, c.query, got, c.want)
		}
	}
	for id, ops := range map[string][]string{VaultWriter: {opCreate, opContinue}, VaultRestore: {opRead, opList},
		VaultAdmin: {opCreate, opContinue, opRead, opList, opDelete}} {
		n := 0
		for _, op := range []string{opList, opRead, opCreate, opContinue, opDelete, opOther} {
			if allowed(id, vaultOp{Kind: op, Bucket: "bk", Object: "production/backups/1/manifest.json"}) {
				n++
			}
		}
		if n != len(ops) {
			t.Errorf("%s may do %d operations, want %v", id, n, ops)
		}
	}
	// The writer reads the binlog chain's coordination objects, nothing else (not a segment's data, not a
	// look-alike outside binlog/, not a list).
	for object, want := range map[string]bool{
		"production/binlog/0000000007.json":                    true,
		"production/binlog/head/0000000000.json":               true,
		"production/binlog/beat/0000000007-00000003.json":      true,
		"binlog/0000000007.json":                               true,
		"production/binlog/0000000007-0a1b2c3d.binlog.zst.age": false,
		"production/binlog/0000000007.json.age":                false,
		"production/notbinlog/0000000007.json":                 false,
		"production/binlog/../secret.json":                     false,
		"production/20261203T031500Z/manifest.json":            false,
		"": false,
	} {
		if got := allowed(VaultWriter, vaultOp{Kind: opRead, Bucket: "bk", Object: object}); got != want {
			t.Errorf("writer read %q: %v, want %v", object, got, want)
		}
	}
	if allowed(VaultWriter, vaultOp{Kind: opList, Bucket: "bk", Object: "production/binlog/0000000007.json"}) ||
		allowed(VaultWriter, vaultOp{Kind: opDelete, Bucket: "bk", Object: "production/binlog/0000000007.json"}) {
		t.Error("the writer may list or delete the binlog chain")
	}
}

// testVaultURL opens the vault as `plinth backup` does, by a gs:// URL naming the endpoint, the CA and a token
// file: the writer creates but its read is ErrPermissionDenied; the restore identity reads and lists but its
// delete of an object under retention is ErrPermissionDenied.
func testVaultURL(ctx context.Context, t *testing.T, p *Platform, v *Vault) {
	t.Helper()
	open := func(token string) *blobstore.Store {
		f := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(f, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		u := "gs://" + vaultBucket + "?prefix=url/&endpoint=" + url.QueryEscape(v.Endpoint()) + "&ca_file=" + url.QueryEscape(p.ca.CAFile) +
			"&token_file=" + url.QueryEscape(f)
		st, err := blobstore.Open(ctx, u)
		if err != nil {
			t.Fatalf("open %s: %v", blobstore.Redact(u), err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	w, r := open(writerToken), open(restoreToken)
	bw, err := w.Create(ctx, "b/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bw.Write([]byte("m"))
	if err := bw.Close(); err != nil {
		t.Fatalf("url writer create: %v", err)
	}
	if _, err := w.Open(ctx, "b/manifest.json"); !errors.Is(err, blobstore.ErrPermissionDenied) {
		t.Errorf("url writer read: %v, want ErrPermissionDenied", err)
	}
	// A binlog streamer's compare-and-swap and probes: the index is created once, reads back, and a missing
	// one is ErrNotFound (the head is before it), not a refusal.
	for i, want := range []bool{true, false} {
		if got, err := w.CreateIfAbsent(ctx, "binlog/0000000001.json", []byte(fmt.Sprint(i))); err != nil || got != want {
			t.Errorf("url writer index create %d: %v %v, want %v", i+1, got, err, want)
		}
	}
	if rc, err := w.Open(ctx, "binlog/0000000001.json"); err != nil {
		t.Errorf("url writer index read: %v", err)
	} else {
		_ = rc.Close()
	}
	if _, err := w.Open(ctx, "binlog/0000000002.json"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Errorf("url writer read of a missing index: %v, want ErrNotFound", err)
	}
	if objs, err := r.List(ctx, "b/"); err != nil || len(objs) != 1 {
		t.Errorf("url restore list: %v %v", objs, err)
	}
	if err := r.Delete(ctx, "b/manifest.json"); !errors.Is(err, blobstore.ErrPermissionDenied) {
		t.Errorf("url restore delete under retention: %v, want ErrPermissionDenied", err)
	}
}
