package deploy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// StepKind names what a step does.
type StepKind string

// Step kinds, in the order they happen on a host.
const (
	StepCurrent StepKind = "current" // record the current release (rollback plans; a deploy's stage step reports it)
	StepUpload  StepKind = "upload"  // content-addressed upload + sha256 verification on the host
	StepPublish StepKind = "publish" // pull staging: the artifact's one upload to the object store (executor)
	StepFetch   StepKind = "fetch"   // pull staging: the host downloads the artifact (presigned URL) and verifies its sha256
	StepStage   StepKind = "stage"   // releases/<v>/ from the artifact, completion marker last; records the current release
	StepCheck   StepKind = "check"   // the health of every host of the tier, before a batch is taken out (executor)
	StepDrain   StepKind = "drain"   // take the host out of the load balancer
	StepPre     StepKind = "pre"     // pre hook
	StepSwitch  StepKind = "switch"  // current -> releases/<v> atomically, then the restart command (one round trip)
	StepHealth  StepKind = "health"  // HTTP health check from the host, with retries
	StepPost    StepKind = "post"    // post hook
	StepEnable  StepKind = "enable"  // put the host back in the load balancer
	StepPrune   StepKind = "prune"   // keep the newest K complete releases (from the listing the switch printed; Argv lists otherwise)
)

// Step is one unit of work on one host. Argv steps run through Runner.Run; upload, health, drain and
// enable are carried out by the executor with their spec.
type Step struct {
	Kind   StepKind    `json:"kind"`
	Argv   []string    `json:"argv,omitempty"`
	Upload *UploadSpec `json:"upload,omitempty"`
	Fetch  *FetchSpec  `json:"fetch,omitempty"`
	Health *HealthSpec `json:"health,omitempty"`
	Keep   int         `json:"keep,omitempty"`
}

// HealthSpec is an HTTP GET of http://127.0.0.1:<port><path> made from the host.
type HealthSpec struct {
	Port     int           `json:"port"`
	Path     string        `json:"path"`
	Version  string        `json:"version,omitempty"` // expected "version" in a JSON body ("" = any)
	Timeout  time.Duration `json:"timeout"`
	Retries  int           `json:"retries"`
	Interval time.Duration `json:"interval"`
}

// HostSteps is the ordered work of one host within a phase.
type HostSteps struct {
	Host  string `json:"host"`
	Steps []Step `json:"steps"`
}

// Plan is a deploy as data: staging on every host in parallel, then batches switched one after the
// other (hosts of a batch in parallel), then pruning.
type Plan struct {
	Stack      string           `json:"stack"`
	Tier       string           `json:"tier"`
	Version    string           `json:"version"`
	SHA256     string           `json:"sha256"`
	BatchSize  int              `json:"batchSize"`
	MinHealthy int              `json:"minHealthy"`
	Hosts      []inventory.Host `json:"hosts"`
	Stage      []HostSteps      `json:"stage"`
	Batches    [][]HostSteps    `json:"batches"`
	Finish     []HostSteps      `json:"finish"`
	Config     TierConfig       `json:"-"`
	Drain      bool             `json:"drain"`
	Staging    Staging          `json:"staging,omitempty"` // "" is push
}

// PlanInput is everything the planner needs. Planning does no I/O.
type PlanInput struct {
	Inventory *inventory.Inventory
	Tier      string
	Release   Release
	Config    TierConfig // defaults applied (Config.Tier)
	// Drain says whether the tier sits behind a load balancer (drain/enable steps).
	Drain bool
	// Staging is push ("" too) or pull (ChooseStaging).
	Staging Staging
}

// NewPlan turns (inventory, tier, release, strategy) into ordered steps.
func NewPlan(in PlanInput) (*Plan, error) {
	if in.Inventory == nil {
		return nil, errors.New("plan: no inventory")
	}
	if err := in.Release.Validate(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	tier, err := in.Inventory.Tier(in.Tier)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if len(tier.Hosts) == 0 {
		return nil, fmt.Errorf("plan: tier %s has no hosts", in.Tier)
	}
	cfg := in.Config
	size, minHealthy, err := BatchSize(cfg.Batch, len(tier.Hosts), cfg.MinHealthy)
	if err != nil {
		return nil, fmt.Errorf("plan: tier %s: %w", in.Tier, err)
	}
	r := in.Release
	p := &Plan{
		Stack: in.Inventory.Stack, Tier: in.Tier, Version: r.Version, SHA256: r.SHA256,
		BatchSize: size, MinHealthy: minHealthy, Hosts: tier.Hosts, Config: cfg, Drain: in.Drain,
	}
	switch in.Staging {
	case "", StagingPush:
	case StagingPull:
		p.Staging = StagingPull
	default:
		return nil, fmt.Errorf("plan: staging %q: want push or pull", in.Staging)
	}
	for _, h := range tier.Hosts {
		get := Step{Kind: StepUpload, Upload: &UploadSpec{Local: r.Artifact, Remote: ArtifactPath(h.Root, r.SHA256), SHA256: r.SHA256, Size: r.Size}}
		if p.Staging == StagingPull {
			get = Step{Kind: StepFetch, Fetch: &FetchSpec{Local: r.Artifact, Key: StoreKey(r.SHA256), Remote: ArtifactPath(h.Root, r.SHA256), SHA256: r.SHA256, Size: r.Size}}
		}
		p.Stage = append(p.Stage, HostSteps{Host: h.Name, Steps: []Step{
			get,
			{Kind: StepStage, Argv: StageArgv(h.Root, r.Version, r.SHA256, cfg.Binary, r.CreatedAt)},
		}})
		p.Finish = append(p.Finish, HostSteps{Host: h.Name, Steps: []Step{
			{Kind: StepPrune, Argv: ListArgv(h.Root), Keep: cfg.Keep},
		}})
	}
	for i := 0; i < len(tier.Hosts); i += size {
		end := min(i+size, len(tier.Hosts))
		var batch []HostSteps
		for _, h := range tier.Hosts[i:end] {
			batch = append(batch, HostSteps{Host: h.Name, Steps: SwitchSteps(cfg, in.Tier, h, r.Version, in.Drain)})
		}
		p.Batches = append(p.Batches, batch)
	}
	return p, nil
}

// SwitchSteps are the steps that move one host to version: drain, pre hooks, switch + restart, health,
// post hooks, enable. Rollbacks use them too.
func SwitchSteps(cfg TierConfig, tier string, h inventory.Host, version string, drain bool) []Step {
	vars := map[string]string{
		"{root}": h.Root, "{port}": strconv.Itoa(h.Port), "{version}": version, "{host}": h.Name,
		"{tier}": tier, "{service}": cfg.Service, "{binary}": cfg.Binary,
	}
	var steps []Step
	if drain {
		steps = append(steps, Step{Kind: StepDrain})
	}
	for _, hook := range cfg.Pre {
		steps = append(steps, Step{Kind: StepPre, Argv: Expand(hook, vars)})
	}
	steps = append(steps, Step{Kind: StepSwitch, Argv: SwitchArgv(h.Root, version, Expand(cfg.Restart, vars)...)})
	if h.Port > 0 {
		hs := &HealthSpec{Port: h.Port, Path: cfg.Health.Path, Timeout: cfg.Health.Timeout,
			Retries: cfg.Health.Retries, Interval: cfg.Health.Interval}
		if !cfg.Health.IgnoreVersion {
			hs.Version = version
		}
		steps = append(steps, Step{Kind: StepHealth, Health: hs})
	}
	for _, hook := range cfg.Post {
		steps = append(steps, Step{Kind: StepPost, Argv: Expand(hook, vars)})
	}
	if drain {
		steps = append(steps, Step{Kind: StepEnable})
	}
	return steps
}

// LogsArgv is the command printing the last log lines of h's service.
func LogsArgv(cfg TierConfig, tier string, h inventory.Host, version string) []string {
	return Expand(cfg.Logs, map[string]string{
		"{root}": h.Root, "{port}": strconv.Itoa(h.Port), "{version}": version, "{host}": h.Name,
		"{tier}": tier, "{service}": cfg.Service, "{binary}": cfg.Binary,
	})
}

// Expand substitutes placeholders in each argv element (no shell is involved).
func Expand(argv []string, vars map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		for k, v := range vars {
			a = strings.ReplaceAll(a, k, v)
		}
		out[i] = a
	}
	return out
}

// RollbackPlan moves every host of a tier to target (already complete on every host), in the same
// batches as a deploy. Nothing is uploaded.
func RollbackPlan(inv *inventory.Inventory, tierName string, cfg TierConfig, target string, drain bool) (*Plan, error) {
	if err := ValidateVersion(target); err != nil {
		return nil, fmt.Errorf("rollback plan: %w", err)
	}
	tier, err := inv.Tier(tierName)
	if err != nil {
		return nil, fmt.Errorf("rollback plan: %w", err)
	}
	if len(tier.Hosts) == 0 {
		return nil, fmt.Errorf("rollback plan: tier %s has no hosts", tierName)
	}
	size, minHealthy, err := BatchSize(cfg.Batch, len(tier.Hosts), cfg.MinHealthy)
	if err != nil {
		return nil, fmt.Errorf("rollback plan: tier %s: %w", tierName, err)
	}
	p := &Plan{Stack: inv.Stack, Tier: tierName, Version: target, BatchSize: size, MinHealthy: minHealthy,
		Hosts: tier.Hosts, Config: cfg, Drain: drain}
	for _, h := range tier.Hosts {
		p.Stage = append(p.Stage, HostSteps{Host: h.Name, Steps: []Step{{Kind: StepCurrent, Argv: CurrentArgv(h.Root)}}})
	}
	for i := 0; i < len(tier.Hosts); i += size {
		end := min(i+size, len(tier.Hosts))
		var batch []HostSteps
		for _, h := range tier.Hosts[i:end] {
			batch = append(batch, HostSteps{Host: h.Name, Steps: SwitchSteps(cfg, tierName, h, target, drain)})
		}
		p.Batches = append(p.Batches, batch)
	}
	return p, nil
}

// Host returns the plan's host by name.
func (p *Plan) Host(name string) (inventory.Host, bool) {
	for _, h := range p.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return inventory.Host{}, false
}
