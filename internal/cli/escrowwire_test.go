package cli

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// TestEscrowOpener: a local stack keeps its releases in the live cloud's escrow under the bucket its
// outputs name (its live inventory names none), and is told what to do when no escrow is served; an aws
// stack or inventory file gets its S3 bucket; a stack naming no escrow keeps none.
func TestEscrowOpener(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	getenv := func(k string) string {
		if k == "PLINTH_HOME" {
			return home
		}
		return ""
	}
	open := escrowOpener(getenv)
	outputs := map[string]any{"inventory": map[string]any{"stack": "staging", "bastion": map[string]any{"sshUser": "ec2-user"},
		"releaseEscrow": map[string]any{"bucket": "staging-escrow-0a1b", "region": "eu-west-1", "prefix": "artifacts/"},
		"tiers":         map[string]any{"app": map[string]any{"port": 8080}}}}
	local := rollout.EscrowRequest{Stack: "staging", Cloud: cloud.Local, Inventory: &inventory.Inventory{Stack: "staging"}, Outputs: outputs}
	if _, err := open(ctx, local); !errors.Is(err, live.ErrEscrowNotServed) || !strings.Contains(err.Error(), "plinth local start") {
		t.Errorf("no escrow served: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := live.ServeEscrow(filepath.Join(home, "live"), l)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, err := open(ctx, local)
	if err != nil || st == nil {
		t.Fatalf("local escrow: %v %v", st, err)
	}
	rel := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	ref, sent, err := rollout.Escrow{Store: st}.Keep(ctx, rel)
	if err != nil || sent != rel.Size || ref.URL != "s3://staging-escrow-0a1b/"+deploy.StoreKey(rel.SHA256) {
		t.Fatalf("keep in the live escrow: %+v %d %v", ref, sent, err)
	}
	aws := rollout.EscrowRequest{Stack: "production", Cloud: cloud.AWS,
		Inventory: &inventory.Inventory{ReleaseEscrow: &inventory.ReleaseEscrow{Bucket: "production-escrow", Region: "eu-west-1"}}}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if st, err := open(ctx, aws); err != nil || st == nil || st.URL("k") != "s3://production-escrow/k" {
		t.Errorf("aws escrow: %v %v", st, err)
	}
	none := rollout.EscrowRequest{Stack: "onprem", Inventory: &inventory.Inventory{}}
	if st, err := open(ctx, none); st != nil || err != nil {
		t.Errorf("no escrow: %v %v", st, err)
	}
}
