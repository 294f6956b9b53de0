package drill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// Release is what production runs on a tier, read from its deploy audit log (the newest successful deploy
// or rollback of the tier), and where its artifact is kept in the release escrow.
type Release struct {
	Tier    string    `json:"tier"`
	Version string    `json:"version"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size,omitempty"`
	At      time.Time `json:"deployedAt"`
	// Escrow is the artifact's object in the escrow (checked by the preflight: present, of Size bytes).
	Escrow string `json:"escrow,omitempty"`
}

// AuditHistory is how many of the newest audit records are read for production's release.
const AuditHistory = 5000

// ProductionReleases returns, per tier of stack, the release its newest successful deploy or rollback put
// in service, tiers in name order. A rollback records the version it went back to: its sha256 and size are
// those of that version's newest earlier successful deploy to the tier. Pure.
func ProductionReleases(stack string, recs []deploy.AuditRecord) ([]Release, error) {
	sorted := append([]deploy.AuditRecord(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	current := map[string]Release{}
	deployed := map[string]Release{} // tier/version -> its newest deploy
	var errs []error
	for _, r := range sorted {
		if r.Stack != stack || r.Result != "succeeded" || r.Tier == "" {
			continue
		}
		switch r.Action {
		case "deploy":
			rel := Release{Tier: r.Tier, Version: r.Version, SHA256: r.SHA256, At: r.Time}
			if r.Escrow != nil {
				rel.Size, rel.Escrow = r.Escrow.Size, r.Escrow.URL
			}
			current[r.Tier], deployed[r.Tier+"/"+r.Version] = rel, rel
		case "rollback":
			rel, ok := deployed[r.Tier+"/"+r.Version]
			if !ok {
				rel = Release{Tier: r.Tier, Version: r.Version}
			}
			rel.At = r.Time
			current[r.Tier] = rel
		}
	}
	if len(current) == 0 {
		return nil, fmt.Errorf("the deploy audit log of %s records no successful deploy", stack)
	}
	out := make([]Release, 0, len(current))
	for _, rel := range current {
		if rel.SHA256 == "" {
			errs = append(errs, fmt.Errorf("tier %s runs %s (rolled back to at %s), but the audit log holds no deploy of it with its sha256",
				rel.Tier, rel.Version, rel.At.Format(time.RFC3339)))
		}
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tier < out[j].Tier })
	return out, errors.Join(errs...)
}

// ProductionRelease reads the release production runs from its deploy audit and checks that the escrow
// holds each artifact; the deploy step deploys what it found. Safe for concurrent use.
type ProductionRelease struct {
	Stack string
	// Audit reads production's deploy audit log (the newest records).
	Audit func(ctx context.Context) ([]deploy.AuditRecord, error)
	// Escrow is production's release escrow (nil: the stack keeps none, or EscrowErr says why it could not
	// be opened).
	Escrow    *rollout.Escrow
	EscrowErr error

	mu    sync.Mutex
	found []Release
}

// Check reads the audit log and HEADs each release's object in the escrow (size as the deploy recorded
// it); a missing artifact fails, naming it. The releases are returned (and kept for Releases) even then.
func (pr *ProductionRelease) Check(ctx context.Context) ([]Release, error) {
	if pr.Audit == nil {
		return nil, fmt.Errorf("the deploy audit log of %s: %w", pr.Stack, ErrUnavailable)
	}
	recs, err := pr.Audit(ctx)
	if err != nil {
		return nil, fmt.Errorf("the deploy audit log of %s: %w", pr.Stack, err)
	}
	rels, err := ProductionReleases(pr.Stack, recs)
	errs := []error{err}
	switch {
	case pr.EscrowErr != nil:
		errs = append(errs, fmt.Errorf("the release escrow of %s: %w", pr.Stack, pr.EscrowErr))
	case pr.Escrow == nil:
		errs = append(errs, fmt.Errorf("stack %s has no release escrow to fetch its release from in the DR region: %w", pr.Stack, ErrUnavailable))
	}
	for i, rel := range rels {
		if pr.Escrow == nil || rel.SHA256 == "" {
			continue
		}
		ref, err := pr.Escrow.Check(ctx, rel.SHA256, rel.Size)
		rels[i].Escrow = ref.URL
		if err != nil {
			errs = append(errs, fmt.Errorf("tier %s release %s: %w", rel.Tier, rel.Version, err))
			continue
		}
		rels[i].Size = ref.Size
	}
	pr.mu.Lock()
	pr.found = rels
	pr.mu.Unlock()
	return rels, errors.Join(errs...)
}

// Releases is what the last Check found, else a new Check.
func (pr *ProductionRelease) Releases(ctx context.Context) ([]Release, error) {
	pr.mu.Lock()
	found := pr.found
	pr.mu.Unlock()
	if found != nil {
		return found, nil
	}
	return pr.Check(ctx)
}

// ReleasePreflight is a preflight that also checks production's release (ProductionRelease.Check) after
// Inner's checks, reporting every problem of both at once. The report lists the releases (Reported).
type ReleasePreflight struct {
	Inner   Preflighter
	Release *ProductionRelease
	Log     func(format string, args ...any)

	mu   sync.Mutex
	rels []Release
}

// Preflight implements Preflighter.
func (f *ReleasePreflight) Preflight(ctx context.Context, p Plan) error {
	var errs []error
	if f.Inner != nil {
		errs = append(errs, f.Inner.Preflight(ctx, p))
	}
	rels, err := f.Release.Check(ctx)
	errs = append(errs, err)
	f.mu.Lock()
	f.rels = rels
	f.mu.Unlock()
	for _, r := range rels {
		if f.Log != nil {
			f.Log("drill %s: preflight: tier %s runs %s (sha256 %s, deployed %s), kept at %s", p.ID, r.Tier, r.Version, r.SHA256,
				r.At.UTC().Format(time.RFC3339), r.Escrow)
		}
	}
	return errors.Join(errs...)
}

// Reported is the release the preflight found, for the report.
func (f *ReleasePreflight) Reported() []Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rels
}
