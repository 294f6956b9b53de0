package sshx_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
)

// storeOf opens the store of a deploy config pointing at the emulator, as plinth deploy does.
func storeOf(t *testing.T, e *deploytest.Store) *s3store.Store {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	st, err := s3store.Open(context.Background(), deploy.StoreConfig{Bucket: deploytest.StoreBucket, Prefix: "plinth/",
		Region: "eu-west-1", Endpoint: e.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (c *cluster) pullPlan(t *testing.T, rel deploy.Release, cfg deploy.TierConfig) *deploy.Plan {
	t.Helper()
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: c.inv, Tier: "app", Release: rel, Config: cfg, Staging: deploy.StagingPull})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPullStagingFetchesFromTheStoreOnce: 4 real sshd hosts behind the bastion fetch the artifact with curl
// from a real S3 emulator; the operator sends it once (to the store), nothing through SSH.
func TestPullStagingFetchesFromTheStoreOnce(t *testing.T) {
	c := newCluster(t, 4)
	r := c.runner(t)
	em := deploytest.StartStore(t)
	ex := &deploy.Executor{Runner: r, Store: storeOf(t, em)}
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 1<<20), "v1")

	out, err := ex.Execute(context.Background(), c.pullPlan(t, v1, deploytest.TierConfig()))
	if err != nil {
		t.Fatalf("pull deploy v1: %v", err)
	}
	if out.BytesSent != 0 {
		t.Errorf("%d bytes through SSH uploads, want 0", out.BytesSent)
	}
	if out.StoreBytes != v1.Size || em.In.Load() < v1.Size || em.In.Load() > v1.Size+v1.Size/100 {
		t.Errorf("to the store: outcome %d, emulator received %d bytes; want one copy (%d)", out.StoreBytes, em.In.Load(), v1.Size)
	}
	if got := em.Out.Load(); got != 4*v1.Size {
		t.Errorf("emulator served %d bytes, want 4 x %d", got, v1.Size)
	}
	for i, h := range c.hosts {
		if got := c.serving(i); got != "v1" {
			t.Errorf("%s serves %q", h.Name, got)
		}
		b, err := os.ReadFile(deploy.ArtifactPath(h.Root, v1.SHA256))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != v1.SHA256 {
			t.Errorf("%s: artifact sha256 %x", h.Name, sum)
		}
	}
	t.Logf("artifact %d bytes: %d into the store, %d out of it (4 hosts), %d through SSH uploads", v1.Size, em.In.Load(), em.Out.Load(), out.BytesSent)

	// The same artifact as another version: the store has it (no PUT), the hosts have it (no GET).
	in, served := em.In.Load(), em.Out.Load()
	v1b := v1
	v1b.Version = "v1b"
	cfg := deploytest.TierConfig()
	cfg.Health.IgnoreVersion = true
	out, err = ex.Execute(context.Background(), c.pullPlan(t, v1b, cfg))
	if err != nil {
		t.Fatalf("pull deploy v1b: %v", err)
	}
	if out.StoreBytes != 0 || em.In.Load() != in || em.Out.Load() != served {
		t.Errorf("re-deploy of the same artifact: %d to the store (emulator +%d), %d served, want none",
			out.StoreBytes, em.In.Load()-in, em.Out.Load()-served)
	}
}

// TestPullStagingRefusesATamperedObject: the stored object does not hash to the release's sha256; every
// host refuses it before linking and nothing is switched.
func TestPullStagingRefusesATamperedObject(t *testing.T) {
	c := newCluster(t, 2)
	r := c.runner(t)
	em := deploytest.StartStore(t)
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	evil := bytes.Repeat([]byte{'x'}, int(v2.Size)) // same size: Put sees it as present
	if _, err := em.Mem.PutObject(deploytest.StoreBucket, "plinth/"+deploy.StoreKey(v2.SHA256), nil, bytes.NewReader(evil), v2.Size, nil); err != nil {
		t.Fatal(err)
	}
	out, err := (&deploy.Executor{Runner: r, Store: storeOf(t, em)}).Execute(context.Background(), c.pullPlan(t, v2, deploytest.TierConfig()))
	if err == nil {
		t.Fatal("deploy of a tampered artifact succeeded")
	}
	if !strings.Contains(err.Error(), "sha256 mismatch") || !strings.Contains(err.Error(), c.hosts[0].Name) {
		t.Errorf("error %q: want the host and the sha256 mismatch", err)
	}
	if len(out.Switched) != 0 {
		t.Errorf("switched %v", out.Switched)
	}
	for i, h := range c.hosts {
		if _, err := os.Stat(deploy.ArtifactPath(h.Root, v2.SHA256)); !os.IsNotExist(err) {
			t.Errorf("%s kept the tampered artifact (%v)", h.Name, err)
		}
		if got := c.current(t, i); got != "" {
			t.Errorf("%s current -> %q", h.Name, got)
		}
	}
}

// TestPullStagingRefusedFetchKeepsThePreviousRelease: hosts on v1 (pull-staged); the store refuses v2's fetch
// with 403 (what S3 answers a presigned URL past X-Amz-Expires or with an altered signature: the emulator is
// told to, it checks no signature itself), then serves v2's object with other bytes of the same size. Each
// time the deploy fails naming the host, the object and the HTTP status or the sha256 mismatch, never the URL;
// nothing of v2 is linked or kept, and v1 stays current and served on every host.
func TestPullStagingRefusedFetchKeepsThePreviousRelease(t *testing.T) {
	c := newCluster(t, 2)
	r := c.runner(t)
	em := deploytest.StartStore(t)
	ex := &deploy.Executor{Runner: r, Store: storeOf(t, em)}
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	if _, err := ex.Execute(context.Background(), c.pullPlan(t, v1, deploytest.TierConfig())); err != nil {
		t.Fatalf("pull deploy v1: %v", err)
	}
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	key := deploy.StoreKey(v2.SHA256)
	evil := bytes.Repeat([]byte{'x'}, int(v2.Size))
	for _, tc := range []struct {
		name, want string
		store      func()
	}{
		{"refused with 403", "error: 403", func() { em.RefuseGets.Store(403) }},
		{"other bytes served", "sha256 mismatch", func() {
			em.RefuseGets.Store(0)
			if _, err := em.Mem.PutObject(deploytest.StoreBucket, "plinth/"+key, map[string]string{}, bytes.NewReader(evil), v2.Size, nil); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		tc.store()
		served := em.Out.Load()
		out, err := ex.Execute(context.Background(), c.pullPlan(t, v2, deploytest.TierConfig()))
		if err == nil {
			t.Fatalf("%s: deploy v2 succeeded", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, key) ||
			!(strings.Contains(msg, c.hosts[0].Name) || strings.Contains(msg, c.hosts[1].Name)) {
			t.Errorf("%s: error %q: want a host, the object %s and %q", tc.name, msg, key, tc.want)
		}
		if strings.Contains(msg, "X-Amz-Signature") || strings.Contains(msg, "X-Amz-Credential") {
			t.Errorf("%s: the error shows the presigned URL: %q", tc.name, msg)
		}
		if tc.name == "refused with 403" && em.Out.Load() != served {
			t.Errorf("%s: the store served %d object bytes", tc.name, em.Out.Load()-served)
		}
		if len(out.Switched) != 0 {
			t.Errorf("%s: switched %v", tc.name, out.Switched)
		}
		for i, h := range c.hosts {
			if got := c.current(t, i); got != "v1" {
				t.Errorf("%s: %s current -> %q, want v1", tc.name, h.Name, got)
			}
			if got := c.serving(i); got != "v1" {
				t.Errorf("%s: %s serves %q, want v1", tc.name, h.Name, got)
			}
			for _, p := range []string{deploy.ArtifactPath(h.Root, v2.SHA256), filepath.Join(h.Root, "releases", "v2")} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s: %s has %s (%v)", tc.name, h.Name, p, err)
				}
			}
			if left, _ := filepath.Glob(deploy.ArtifactPath(h.Root, v2.SHA256) + ".fetch.*"); len(left) != 0 {
				t.Errorf("%s: %s left %v", tc.name, h.Name, left)
			}
		}
	}
}
