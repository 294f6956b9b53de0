package drill_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/drill"
)

// TestProductionReleases: per tier, the newest successful deploy or rollback of the stack wins (other
// stacks, failed and started records ignored, order of the log not trusted); a rollback takes the sha256
// and size of its version's deploy; a rollback to a version the log never deployed is named.
func TestProductionReleases(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 12, 1, 10, m, 0, 0, time.UTC) }
	sha := func(c string) string { return strings.Repeat(c, 64) }
	esc := func(c string, n int64) *deploy.EscrowRef {
		return &deploy.EscrowRef{URL: "s3://e/artifacts/sha256/" + sha(c), Size: n}
	}
	recs := []deploy.AuditRecord{
		{Time: at(9), Stack: "production", Tier: "app", Action: "rollback", Version: "v1", Result: "succeeded"},
		{Time: at(1), Stack: "production", Tier: "app", Action: "deploy", Version: "v1", SHA256: sha("a"), Result: "succeeded", Escrow: esc("a", 10)},
		{Time: at(5), Stack: "production", Tier: "app", Action: "deploy", Version: "v2", SHA256: sha("b"), Result: "succeeded", Escrow: esc("b", 20)},
		{Time: at(11), Stack: "production", Tier: "app", Action: "deploy", Version: "v3", SHA256: sha("c"), Result: "failed"},
		{Time: at(12), Stack: "production", Tier: "app", Action: "deploy", Version: "v4", SHA256: sha("d"), Result: "started"},
		{Time: at(2), Stack: "production", Tier: "worker", Action: "deploy", Version: "v2", SHA256: sha("b"), Result: "succeeded"},
		{Time: at(13), Stack: "staging", Tier: "worker", Action: "deploy", Version: "v9", SHA256: sha("e"), Result: "succeeded"},
		{Time: at(14), Stack: "production", Action: "lock-release", Result: "succeeded"},
	}
	got, err := drill.ProductionReleases("production", recs)
	if err != nil {
		t.Fatal(err)
	}
	want := []drill.Release{
		{Tier: "app", Version: "v1", SHA256: sha("a"), Size: 10, At: at(9), Escrow: "s3://e/artifacts/sha256/" + sha("a")},
		{Tier: "worker", Version: "v2", SHA256: sha("b"), At: at(2)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("release %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	recs = append(recs, deploy.AuditRecord{Time: at(20), Stack: "production", Tier: "worker", Action: "rollback", Version: "v0", Result: "succeeded"})
	if _, err := drill.ProductionReleases("production", recs); err == nil || !strings.Contains(err.Error(), "tier worker runs v0") {
		t.Errorf("a rollback to an unknown deploy: %v", err)
	}
	if _, err := drill.ProductionReleases("preproduction", recs); err == nil || !strings.Contains(err.Error(), "preproduction") {
		t.Errorf("no deploy: %v", err)
	}
}

// TestOpenEnvChecksTheRelease: with a Release the preflight also checks production's release and reports
// every problem at once (here: no primary, no vault, and an audit log that cannot be read), the report
// step list stays as planned, and the Deploy given is the deploy step.
func TestOpenEnvChecksTheRelease(t *testing.T) {
	p := plan(t, false)
	dep := &drill.EscrowDeployer{}
	rel := &drill.ProductionRelease{Stack: "production", Audit: func(context.Context) ([]deploy.AuditRecord, error) {
		return nil, errors.New("ssh bastion: connection refused")
	}}
	env, closeEnv, err := drill.OpenEnv(context.Background(), p, drill.EnvConfig{Release: rel, Deploy: dep})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	if env.Deploy != dep {
		t.Errorf("deploy step %#v", env.Deploy)
	}
	err = env.Preflight.Preflight(context.Background(), p)
	for _, want := range []string{"production's primary", "the vault", "the deploy audit log of production: ssh bastion: connection refused"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("preflight error %v: want %q", err, want)
		}
	}
	// Without a Release, nothing of it is checked (and a nil deployer stays nil: the step is unavailable).
	env, closeEnv, _ = drill.OpenEnv(context.Background(), p, drill.EnvConfig{})
	defer closeEnv()
	if _, ok := env.Preflight.(*drill.ReleasePreflight); ok || env.Deploy != nil {
		t.Errorf("env without a release: %#v %#v", env.Preflight, env.Deploy)
	}
	// An EscrowDeployer without production's escrow says the step is unavailable.
	if err := dep.Deploy(context.Background(), p); !errors.Is(err, drill.ErrUnavailable) {
		t.Errorf("a deployer with nothing to deploy from: %v", err)
	}
}
