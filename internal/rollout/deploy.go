package rollout

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// DeployRequest is one `plinth deploy`: a tier (or every tier of the config), the artifact and version.
type DeployRequest struct {
	Tier     string
	AllTiers bool
	Artifact string
	Version  string
	// Batch, Staging override the tier config's ("": the config's).
	Batch   string
	Staging string
	// Holder and Message are recorded in the lock and the audit log.
	Holder  string
	Message string
	Now     func() time.Time
	// Emit receives the executor's progress events (serialized).
	Emit func(deploy.Event)
	// OpenStore opens pull staging's object store (nil: S3 through s3store).
	OpenStore func(ctx context.Context, cfg deploy.StoreConfig) (deploy.ArtifactStore, error)
}

// TierResult is the outcome of one tier's session.
type TierResult struct {
	Plan     *deploy.Plan
	Outcomes []*deploy.Outcome
	Err      error
	// Unchanged is set when every host of the tier already ran the release (same version, same sha256):
	// nothing was locked, sent or restarted.
	Unchanged bool
	// Escrow is where the release's artifact is kept (nil: the stack keeps no escrow).
	Escrow *deploy.EscrowRef
}

type tierPlan struct {
	plan    *deploy.Plan
	drainer deploy.Drainer
	release deploy.Release
}

// Plan builds the plan of every tier req names (--dry-run prints them; Deploy runs them).
func Plan(ctx context.Context, conn *Conn, req DeployRequest) ([]*deploy.Plan, error) {
	tps, err := plans(ctx, conn, req)
	if err != nil {
		return nil, err
	}
	out := make([]*deploy.Plan, len(tps))
	for i, tp := range tps {
		out[i] = tp.plan
	}
	return out, nil
}

func plans(ctx context.Context, conn *Conn, req DeployRequest) ([]tierPlan, error) {
	tiers := []string{req.Tier}
	if req.AllTiers {
		tiers = conn.Config.Order
		if len(tiers) == 0 {
			tiers = conn.Inventory.TierNames()
		}
	}
	now := nowFunc(req.Now)
	var out []tierPlan
	releases := map[string]deploy.Release{}
	for _, tier := range tiers {
		t, err := conn.Inventory.Tier(tier)
		if err != nil {
			return nil, usagef("--tier: %v", err)
		}
		if req.AllTiers && len(t.Hosts) == 0 {
			continue
		}
		cfg := conn.Config.Tier(tier)
		if req.Batch != "" {
			cfg.Batch = req.Batch
		}
		artifact := req.Artifact
		if req.AllTiers && cfg.Artifact != "" {
			artifact = cfg.Artifact
		}
		if artifact == "" {
			return nil, usagef("tier %s: no artifact: pass --artifact or set tiers.%s.artifact in the deploy config", tier, tier)
		}
		rel, ok := releases[artifact]
		if !ok {
			if rel, err = Describe(artifact, req.Version, now()); err != nil {
				return nil, err
			}
			releases[artifact] = rel
		}
		dr, err := conn.drainer(ctx, tier)
		if err != nil {
			return nil, err
		}
		staging, err := deploy.ChooseStaging(cmp.Or(req.Staging, conn.Config.Staging), len(t.Hosts), conn.Config.Store != nil)
		if err != nil {
			return nil, invalid(err)
		}
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: conn.Inventory, Tier: tier, Release: rel, Config: cfg, Drain: dr != nil, Staging: staging})
		if err != nil {
			return nil, invalid(err)
		}
		if dr != nil && p.BatchSize >= len(p.Hosts) {
			// A batch that is the whole tier (a one-host tier) has nowhere to drain to: draining would turn
			// the restart into an error for every request. The hosts stay in the load balancer, whose
			// retries of a refused connection (the live HAProxy's retry-on conn-failure) carry requests
			// over a restart of a service that shuts down gracefully; enable still puts them in service.
			dr = keepInService{dr}
		}
		out = append(out, tierPlan{plan: p, drainer: dr, release: rel})
	}
	if len(out) == 0 {
		return nil, errors.New("nothing to deploy: no tier has hosts")
	}
	return out, nil
}

// Deploy rolls the release out, one session (lock, audit record) per tier in order, and stops at the first
// tier that fails. A tier whose hosts all run the release already is skipped. err is the first failure:
// with results nil, nothing ran.
func Deploy(ctx context.Context, conn *Conn, req DeployRequest) ([]TierResult, error) {
	// The SSH handshakes run while the artifact is hashed and the plans made.
	defer deploy.ConnectAhead(ctx, conn.Runner, aheadHosts(conn, req), conn.Parallel)()
	tps, err := plans(ctx, conn, req)
	if err != nil {
		return nil, err
	}
	escrowed, err := keepReleases(ctx, conn, tps)
	if err != nil {
		return nil, err
	}
	var store deploy.ArtifactStore
	if conn.Config.Store != nil && slices.ContainsFunc(tps, func(tp tierPlan) bool { return tp.plan.Staging == deploy.StagingPull }) {
		open := req.OpenStore
		if open == nil {
			open = func(ctx context.Context, cfg deploy.StoreConfig) (deploy.ArtifactStore, error) {
				return s3store.Open(ctx, cfg)
			}
		}
		if store, err = open(ctx, *conn.Config.Store); err != nil {
			return nil, invalid(err)
		}
	}
	now := nowFunc(req.Now)
	var results []TierResult
	for _, tp := range tps {
		var kept *deploy.EscrowRef
		if ref, ok := escrowed[tp.release.SHA256]; ok {
			kept = &ref
		}
		if Running(ctx, conn.Runner, tp.plan, tp.release) {
			results = append(results, TierResult{Plan: tp.plan, Unchanged: true, Outcomes: []*deploy.Outcome{{Switched: []string{}}}, Escrow: kept})
			continue
		}
		exec := &deploy.Executor{Runner: conn.Runner, Drainer: tp.drainer, Emit: req.Emit, Now: now, StepTimeout: conn.StepTimeout,
			Parallel: conn.Parallel, Store: store}
		s := &deploy.Session{State: conn.State, Exec: exec, Holder: req.Holder, Message: req.Message, Action: "deploy", Now: now, Escrow: escrowed}
		outs, err := s.Run(ctx, []*deploy.Plan{tp.plan})
		results = append(results, TierResult{Plan: tp.plan, Outcomes: outs, Err: err, Escrow: kept})
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// aheadHosts are the hosts a deploy of req connects to: its tiers' hosts, and the lock's host when it is
// remote (the bastion; a lock on this machine has no address).
func aheadHosts(conn *Conn, req DeployRequest) []inventory.Host {
	var hosts []inventory.Host
	if conn.State.Host.Address != "" {
		hosts = append(hosts, conn.State.Host)
	}
	tiers := []string{req.Tier}
	if req.AllTiers {
		tiers = conn.Inventory.TierNames()
	}
	for _, name := range tiers {
		if t, err := conn.Inventory.Tier(name); err == nil {
			hosts = append(hosts, t.Hosts...)
		}
	}
	return hosts
}

// Running reports whether every host of the plan's tier already runs rel: its current release is the
// version, complete, with the same sha256. Any host that cannot say (unreachable, no release yet) means
// no: the deploy goes ahead and reports what fails.
func Running(ctx context.Context, r deploy.Runner, p *deploy.Plan, rel deploy.Release) bool {
	hosts := p.Hosts
	if len(hosts) == 0 {
		return false
	}
	ok := make([]bool, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(ctx, h, deploy.Command{Argv: deploy.ListArgv(h.Root)})
			if err != nil {
				return
			}
			l, err := deploy.ParseListing(res.Stdout)
			if err != nil || l.Current != rel.Version {
				return
			}
			for _, hr := range l.Releases {
				if hr.Version == rel.Version && hr.Complete && hr.SHA256 == rel.SHA256 {
					ok[i] = true
				}
			}
		}()
	}
	wg.Wait()
	return !slices.Contains(ok, false)
}

// Describe hashes the artifact into the release to deploy.
func Describe(path, version string, now time.Time) (deploy.Release, error) {
	f, err := os.Open(path)
	if err != nil {
		return deploy.Release{}, usagef("--artifact: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return deploy.Release{}, usagef("--artifact %s: not a regular file", path)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return deploy.Release{}, fmt.Errorf("artifact %s: %w", path, err)
	}
	return deploy.Release{Version: version, Artifact: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, CreatedAt: now}, nil
}

func nowFunc(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// keepInService is the drainer of a batch that is the whole tier: drain leaves the host in the load
// balancer (nowhere else to send its requests), enable puts it in service after its health check.
type keepInService struct{ deploy.Drainer }

func (keepInService) Drain(context.Context, string, inventory.Host) error { return nil }
