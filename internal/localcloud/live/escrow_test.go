package live_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// TestLiveEscrow: the live escrow is a real object store on the loopback: an artifact is kept once (the
// second keep sends nothing), fetched back verified, still there after a restart; a request without its
// access key is refused; a stopped escrow is named as not served.
func TestLiveEscrow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	serve := func() *live.Escrow {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e, err := live.ServeEscrow(dir, l)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	open := func(keyID, secret string) rollout.Escrow {
		info, err := live.ReadEscrow(dir)
		if err != nil {
			t.Fatal(err)
		}
		st, err := s3store.OpenWithKey(ctx, deploy.StoreConfig{Bucket: "production-escrow-1a2b", Region: info.Region, Endpoint: info.Endpoint, PathStyle: true},
			keyID, secret)
		if err != nil {
			t.Fatal(err)
		}
		return rollout.Escrow{Store: st}
	}
	e := serve()
	info := e.Info()
	if st, err := os.Stat(filepath.Join(dir, "escrow", "key.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	art := filepath.Join(t.TempDir(), "app")
	data := []byte(strings.Repeat("release\n", 10000))
	if err := os.WriteFile(art, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	rel := deploy.Release{Version: "v1", Artifact: art, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	esc := open(info.AccessKeyID, info.SecretAccessKey)
	if _, sent, err := esc.Keep(ctx, rel); err != nil || sent != rel.Size {
		t.Fatalf("keep: sent %d: %v", sent, err)
	}
	if _, sent, err := esc.Keep(ctx, rel); err != nil || sent != 0 {
		t.Fatalf("second keep: sent %d: %v", sent, err)
	}
	if _, err := open("AKIASOMEONEELSE", "x").Check(ctx, rel.SHA256, rel.Size); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("another access key: %v", err)
	}
	// The escrow's key id with another secret: the signature does not match.
	if _, err := open(info.AccessKeyID, "not-the-secret").Check(ctx, rel.SHA256, rel.Size); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a wrong secret: %v", err)
	}
	// Unsigned, and a forged header naming the key: refused.
	for _, auth := range []string{"", "AWS4-HMAC-SHA256 Credential=" + info.AccessKeyID + "/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"} {
		req, _ := http.NewRequest(http.MethodGet, info.Endpoint+"/production-escrow-1a2b/"+deploy.StoreKey(rel.SHA256), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
			req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET with Authorization %q: %s", auth, resp.Status)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := live.ReadEscrow(dir); !errors.Is(err, live.ErrEscrowNotServed) {
		t.Errorf("stopped escrow: %v", err)
	}
	e = serve()
	defer e.Close()
	if e.Info().AccessKeyID != info.AccessKeyID {
		t.Errorf("the access key changed across a restart")
	}
	esc = open(info.AccessKeyID, info.SecretAccessKey)
	dst := filepath.Join(t.TempDir(), "fetched")
	if ref, err := esc.Fetch(ctx, rel.SHA256, rel.Size, dst); err != nil || ref.Size != rel.Size {
		t.Fatalf("fetch after a restart: %+v %v", ref, err)
	}
}
