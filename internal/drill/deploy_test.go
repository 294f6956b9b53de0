package drill_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/rollout/rollouttest"
)

// TestDeployFromEscrow: production (real sshd hosts behind a bastion) is deployed with `plinth deploy`'s
// engine, which keeps its artifacts in the escrow (an S3 emulator); the drill's preflight reads
// production's audit log and finds each tier's release in the escrow; the deploy step fetches it from
// there, verifies it and rolls it out to the drill stack (other sshd hosts, its own bastion), whose hosts
// then serve production's versions. A replaced escrow object passes the HEAD but is refused by the deploy,
// naming it, and reaches no drill host; a missing one fails the preflight, named.
func TestDeployFromEscrow(t *testing.T) {
	ctx := context.Background()
	p := plan(t, false)
	es := rollouttest.StartEscrow(t)
	prod := rollouttest.StartStack(t, "production", map[string]int{"app": 1, "worker": 1})
	pc := prod.Connect(t, es.Store)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	v2 := deploytest.Release(t, deploytest.BuildApp(t, "v2", true, 0), "v2")
	for tier, rel := range map[string]deploy.Release{"app": v2, "worker": v1} {
		if _, err := rollout.Deploy(ctx, pc, rollout.DeployRequest{Tier: tier, Artifact: rel.Artifact, Version: rel.Version, Holder: "test"}); err != nil {
			t.Fatalf("production %s: %v", tier, err)
		}
	}
	dstack := environments.DrillStackName("production", p.ID)
	drillStack := rollouttest.StartStack(t, dstack, map[string]int{"app": 2, "worker": 1})
	newRelease := func() *drill.ProductionRelease {
		return &drill.ProductionRelease{Stack: "production", Escrow: &rollout.Escrow{Store: es.Store},
			Audit: func(ctx context.Context) ([]deploy.AuditRecord, error) {
				return pc.State.History(ctx, drill.AuditHistory)
			}}
	}
	var connected []string
	connect := func(ctx context.Context, req rollout.Request) (*rollout.Conn, error) {
		connected = append(connected, req.Stack)
		r := drillStack.Request()
		r.Stack = req.Stack
		return rollout.Connect(ctx, rollout.Deps{Getenv: os.Getenv}, r)
	}
	rel := newRelease()
	pf := &drill.ReleasePreflight{Release: rel}
	if err := pf.Preflight(ctx, p); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	got := pf.Reported()
	if len(got) != 2 || got[0].Tier != "app" || got[0].Version != "v2" || got[0].SHA256 != v2.SHA256 || got[0].Size != v2.Size ||
		!strings.HasSuffix(got[0].Escrow, "/artifacts/sha256/"+v2.SHA256) || got[1].Version != "v1" || got[1].SHA256 != v1.SHA256 {
		t.Fatalf("releases %+v", got)
	}
	before := es.Emulator.Out.Load()
	d := &drill.EscrowDeployer{Release: rel, Connect: connect, Holder: "drill-test", Dir: t.TempDir()}
	if err := d.Deploy(ctx, p); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if len(connected) != 1 || connected[0] != dstack {
		t.Errorf("connected to %v, want the drill stack %s", connected, dstack)
	}
	if out := es.Emulator.Out.Load() - before; out != v1.Size+v2.Size {
		t.Errorf("the escrow served %d bytes, want each artifact once (%d)", out, v1.Size+v2.Size)
	}
	for _, h := range drillStack.Hosts {
		want := map[string]string{"app": "v2", "worker": "v1"}[h.Tier]
		if v := deploytest.Health(http.DefaultClient, h.Port); v != want {
			t.Errorf("drill host %s serves %q, want %s", h.Name, v, want)
		}
	}
	// The drill stack's own bastion holds the audit of the drill's deploy.
	audit, err := os.ReadFile(filepath.Join(drillStack.StateDir, "audit.jsonl"))
	if err != nil || strings.Count(string(audit), `"result":"succeeded"`) != 2 || !strings.Contains(string(audit), `"holder":"drill-test"`) ||
		!strings.Contains(string(audit), `"stack":"`+dstack+`"`) {
		t.Errorf("drill stack audit: %s %v", audit, err)
	}

	// The app artifact replaced in the escrow (same key, same size): HEAD and size pass, the fetch refuses it.
	data, err := os.ReadFile(v2.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	es.Replace(t, deploy.StoreKey(v2.SHA256), data)
	rel = newRelease()
	if err := (&drill.ReleasePreflight{Release: rel}).Preflight(ctx, p); err != nil {
		t.Fatalf("preflight of a same-size replacement: %v", err)
	}
	d = &drill.EscrowDeployer{Release: rel, Connect: connect, Holder: "drill-test", Dir: t.TempDir()}
	err = d.Deploy(ctx, p)
	if !errors.Is(err, rollout.ErrEscrowCorrupt) || !strings.Contains(err.Error(), deploy.StoreKey(v2.SHA256)) {
		t.Fatalf("deploy of a replaced artifact: %v", err)
	}
	if len(connected) != 1 {
		t.Errorf("a refused artifact still connected to the drill stack: %v", connected)
	}

	// The object gone: the preflight fails naming it.
	if _, err := es.Emulator.Mem.DeleteObject(deploytest.StoreBucket, deploy.StoreKey(v1.SHA256)); err != nil {
		t.Fatal(err)
	}
	err = (&drill.ReleasePreflight{Release: newRelease()}).Preflight(ctx, p)
	if !errors.Is(err, rollout.ErrNotEscrowed) || !strings.Contains(err.Error(), "tier worker release v1") || !strings.Contains(err.Error(), v1.SHA256) {
		t.Errorf("preflight of a missing artifact: %v", err)
	}
}
