package rollout_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/rollout/rollouttest"
)

// TestEscrowPutSkipVerify: an artifact is sent to the escrow once (a second Keep only asks), Check finds it
// by HEAD and size, Fetch brings it back verified; a replaced object is refused naming it, and nothing is
// left where it was to land; a missing one and a bad sha256 are errors, not panics.
func TestEscrowPutSkipVerify(t *testing.T) {
	ctx := context.Background()
	es := rollouttest.StartEscrow(t)
	e := rollout.Escrow{Store: es.Store}
	dir := t.TempDir()
	art := filepath.Join(dir, "app")
	data := []byte(strings.Repeat("plinth release v1\n", 4096))
	if err := os.WriteFile(art, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	rel := deploy.Release{Version: "v1", Artifact: art, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	want := "s3://" + deploytest.StoreBucket + "/artifacts/sha256/" + rel.SHA256
	ref, sent, err := e.Keep(ctx, rel)
	if err != nil || sent != rel.Size || ref.URL != want || ref.Size != rel.Size {
		t.Fatalf("first keep: %+v sent %d: %v", ref, sent, err)
	}
	if _, sent, err = e.Keep(ctx, rel); err != nil || sent != 0 {
		t.Fatalf("second keep sent %d: %v", sent, err)
	}
	if in := es.Emulator.In.Load(); in != rel.Size {
		t.Errorf("the emulator received %d bytes over two keeps, want %d (once)", in, rel.Size)
	}
	if ref, err := e.Check(ctx, rel.SHA256, rel.Size); err != nil || ref.URL != want {
		t.Errorf("check: %+v %v", ref, err)
	}
	if _, err := e.Check(ctx, rel.SHA256, rel.Size+1); !errors.Is(err, rollout.ErrNotEscrowed) {
		t.Errorf("check of another size: %v", err)
	}
	other := strings.Repeat("0", 64)
	if _, err := e.Check(ctx, other, 0); !errors.Is(err, rollout.ErrNotEscrowed) || !strings.Contains(err.Error(), other) {
		t.Errorf("check of a missing artifact: %v", err)
	}
	dst := filepath.Join(dir, "fetched")
	if ref, err := e.Fetch(ctx, rel.SHA256, rel.Size, dst); err != nil || ref.Size != rel.Size {
		t.Fatalf("fetch: %+v %v", ref, err)
	}
	if got, _ := os.ReadFile(dst); string(got) != string(data) {
		t.Fatalf("fetched %d bytes differ from the artifact", len(got))
	}
	// The object replaced (same key, same size, other bytes): refused, nothing left at the destination.
	tampered := append([]byte{}, data...)
	tampered[100] ^= 0xff
	es.Replace(t, deploy.StoreKey(rel.SHA256), tampered)
	dst2 := filepath.Join(dir, "fetched-tampered")
	if _, err := e.Fetch(ctx, rel.SHA256, rel.Size, dst2); !errors.Is(err, rollout.ErrEscrowCorrupt) || !strings.Contains(err.Error(), want) {
		t.Errorf("fetch of a replaced object: %v", err)
	}
	if _, err := os.Stat(dst2); !os.IsNotExist(err) {
		t.Errorf("a refused fetch left %s: %v", dst2, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left in %s: %v", dir, ents)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("g", 64)} {
		if _, err := e.Fetch(ctx, bad, 0, dst2); err == nil {
			t.Errorf("fetch of sha256 %q: no error", bad)
		}
		if _, _, err := e.Keep(ctx, deploy.Release{Artifact: art, SHA256: bad}); err == nil {
			t.Errorf("keep of sha256 %q: no error", bad)
		}
	}
	if _, err := e.Fetch(ctx, other, 0, dst2); err == nil || !strings.Contains(err.Error(), other) {
		t.Errorf("fetch of a missing artifact: %v", err)
	}
}

// TestDeployKeepsTheArtifactInEscrowOnce deploys over real SSH (sshd hosts behind an sshd bastion): the
// same artifact to two tiers (two deploys, two sessions) lands in the escrow once, and both audit records
// name the object; a pull-staged deploy, whose store is the escrow, sends its artifact there once too.
func TestDeployKeepsTheArtifactInEscrowOnce(t *testing.T) {
	ctx := context.Background()
	st := rollouttest.StartStack(t, "production", map[string]int{"app": 2, "worker": 1})
	es := rollouttest.StartEscrow(t)
	conn := st.Connect(t, es.Store)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	want := "s3://" + deploytest.StoreBucket + "/" + deploy.StoreKey(v1.SHA256)
	for _, tier := range []string{"app", "worker"} {
		res, err := rollout.Deploy(ctx, conn, rollout.DeployRequest{Tier: tier, Artifact: v1.Artifact, Version: "v1", Holder: "test"})
		if err != nil {
			t.Fatalf("deploy %s: %v", tier, err)
		}
		if res[0].Escrow == nil || res[0].Escrow.URL != want {
			t.Errorf("deploy %s: result's escrow %+v, want %s", tier, res[0].Escrow, want)
		}
	}
	if in := es.Emulator.In.Load(); in != v1.Size {
		t.Errorf("escrow received %d bytes over two deploys of a %d-byte artifact: want it once", in, v1.Size)
	}
	recs, err := conn.State.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]bool{}
	for _, r := range recs {
		if r.Escrow == nil || r.Escrow.URL != want || r.Escrow.Size != v1.Size || r.SHA256 != v1.SHA256 {
			t.Errorf("audit record %s %s %s: escrow %+v, want %s", r.Tier, r.Action, r.Result, r.Escrow, want)
		}
		if r.Result == "succeeded" {
			tiers[r.Tier] = true
		}
	}
	if len(recs) != 4 || !tiers["app"] || !tiers["worker"] {
		t.Errorf("audit: %+v", recs)
	}
	// Pull staging from the escrow: the hosts fetch the object the escrow keeps, sent once.
	t.Setenv("AWS_ACCESS_KEY_ID", "escrow-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "escrow-test-secret")
	cfg := es.Config
	conn.Config.Store = &cfg
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	res, err := rollout.Deploy(ctx, conn, rollout.DeployRequest{Tier: "app", Artifact: v2.Artifact, Version: "v2", Staging: "pull", Holder: "test"})
	if err != nil || res[0].Plan.Staging != deploy.StagingPull {
		t.Fatalf("pull deploy: %+v %v", res, err)
	}
	if in := es.Emulator.In.Load(); in != v1.Size+v2.Size {
		t.Errorf("escrow received %d bytes after the pull deploy, want %d (each artifact once)", in, v1.Size+v2.Size)
	}
	for _, h := range st.Hosts {
		want := map[string]string{"app": "v2", "worker": "v1"}[h.Tier]
		if v := deploytest.Health(http.DefaultClient, h.Port); v != want {
			t.Errorf("%s serves %q, want %s", h.Name, v, want)
		}
	}
}
