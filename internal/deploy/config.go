package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Config is the deploy configuration of a project (deploy.yaml): per-tier service commands and strategy.
type Config struct {
	// Tiers is the per-tier configuration; tiers missing here get the defaults.
	Tiers map[string]TierConfig `yaml:"tiers"`
	// Order is the order of --all-tiers (default: worker tiers last is not assumed; alphabetical).
	Order []string `yaml:"order,omitempty"`
	// StepTimeout bounds every step on a host: session open, command, upload, health check, a rollback's
	// reconnect (default 10m; --step-timeout overrides it). A host that stops answering fails its step
	// at this deadline.
	StepTimeout time.Duration `yaml:"stepTimeout,omitempty"`
	// KeepAlive is the interval of SSH keepalives (default 15s; --keepalive overrides it): a connection
	// that leaves three unanswered is given up, whatever step it carries.
	KeepAlive time.Duration `yaml:"keepalive,omitempty"`
	// Parallel bounds the hosts worked on at once: connections, uploads, commands (default 0: every host
	// of the tier at once; --parallel overrides it).
	Parallel int `yaml:"parallel,omitempty"`
	// Staging is push, pull or auto (default: auto = pull from PullFromHosts hosts when Store is set;
	// --staging overrides it).
	Staging string `yaml:"staging,omitempty"`
	// Store is the object store of pull staging (nil: push only).
	Store *StoreConfig `yaml:"store,omitempty"`
}

// StoreFor is the store of pull staging for a deploy to inv: deploy.yaml's store when it names one, else
// the stack's release escrow (the bucket the program creates, keys at its root: artifacts/sha256/...,
// the prefix its instance roles may read), else nil (push only).
func (c *Config) StoreFor(inv *inventory.Inventory) *StoreConfig {
	if c != nil && c.Store != nil {
		return c.Store
	}
	if inv == nil || inv.ReleaseEscrow == nil || inv.ReleaseEscrow.Bucket == "" {
		return nil
	}
	return &StoreConfig{Bucket: inv.ReleaseEscrow.Bucket, Region: inv.ReleaseEscrow.Region}
}

// StoreConfig is an S3 bucket for pull staging's artifacts (the hosts' instance role reads Prefix only).
type StoreConfig struct {
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix,omitempty"`
	Region string `yaml:"region,omitempty"`
	// Endpoint and PathStyle are for S3-compatible stores and emulators.
	Endpoint  string `yaml:"endpoint,omitempty"`
	PathStyle bool   `yaml:"pathStyle,omitempty"`
}

// TierConfig says how a tier's binary is installed, restarted and checked. Argv elements may use the
// placeholders {root} {port} {version} {host} {tier} {service} {binary}.
type TierConfig struct {
	// Binary is the file name of the binary inside a release (default: the tier name).
	Binary string `yaml:"binary,omitempty" json:"binary"`
	// Artifact is the local artifact for --all-tiers when it differs per tier.
	Artifact string `yaml:"artifact,omitempty" json:"artifact,omitempty"`
	// Service is the systemd unit (default: plinth-{tier}.service).
	Service string `yaml:"service,omitempty" json:"service"`
	// Restart restarts the service (default: sudo -n systemctl restart {service}).
	Restart []string `yaml:"restart,omitempty" json:"restart"`
	// Logs prints the service's last log lines, shown when a health check fails
	// (default: sudo -n journalctl -u {service} -n 20 --no-pager).
	Logs   []string     `yaml:"logs,omitempty" json:"logs"`
	Health HealthConfig `yaml:"health,omitempty" json:"health"`
	// Keep is how many complete releases stay on each host (default 5, at least 2 so rollback has a target).
	Keep int `yaml:"keep,omitempty" json:"keep"`
	// Batch is how many hosts switch at once: a count ("2") or a percentage ("25%"). Default 1.
	Batch string `yaml:"batch,omitempty" json:"batch"`
	// MinHealthy is N of an N+1 tier: hosts that must stay in service (default: hosts-1).
	MinHealthy int `yaml:"minHealthy,omitempty" json:"minHealthy"`
	// Pre and Post are hooks run on each host: Pre after drain and before the switch, Post after the
	// health check and before re-enabling.
	Pre  [][]string `yaml:"pre,omitempty" json:"pre,omitempty"`
	Post [][]string `yaml:"post,omitempty" json:"post,omitempty"`
	// LoadBalancer says how hosts are drained (default: the tier's ALB target group when the inventory
	// has one, else none).
	LoadBalancer LBConfig `yaml:"loadBalancer,omitempty" json:"loadBalancer"`
}

// LBConfig selects a tier's load balancer drainer.
type LBConfig struct {
	// Kind is alb, haproxy or none ("" = alb when the tier has a target group).
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Socket is HAProxy's admin socket path on the host named by Via.
	Socket string `yaml:"socket,omitempty" json:"socket,omitempty"`
	// Via names the inventory host whose SSH connection reaches the socket (default: the bastion).
	Via string `yaml:"via,omitempty" json:"via,omitempty"`
	// Backend is the HAProxy backend (default: the tier name); servers are named after hosts.
	Backend string `yaml:"backend,omitempty" json:"backend,omitempty"`
}

// HealthConfig is the HTTP health check of a host's service, made from the host itself (127.0.0.1).
type HealthConfig struct {
	Path     string        `yaml:"path,omitempty" json:"path"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout"`
	Retries  int           `yaml:"retries,omitempty" json:"retries"`
	Interval time.Duration `yaml:"interval,omitempty" json:"interval"`
	// IgnoreVersion skips comparing the "version" field of a JSON body with the deployed version.
	IgnoreVersion bool `yaml:"ignoreVersion,omitempty" json:"ignoreVersion,omitempty"`
}

// ParseConfig decodes deploy.yaml (unknown fields are errors).
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("deploy config: %w", err)
	}
	var errs []error
	if c.StepTimeout < 0 {
		errs = append(errs, fmt.Errorf("deploy config: stepTimeout %s: must not be negative", c.StepTimeout))
	}
	if c.Parallel < 0 {
		errs = append(errs, fmt.Errorf("deploy config: parallel %d: must not be negative", c.Parallel))
	}
	if c.KeepAlive < 0 {
		errs = append(errs, fmt.Errorf("deploy config: keepalive %s: must not be negative", c.KeepAlive))
	}
	switch c.Staging {
	case "", "auto", string(StagingPush), string(StagingPull):
	default:
		errs = append(errs, fmt.Errorf("deploy config: staging %q: want push, pull or auto", c.Staging))
	}
	if c.Store != nil && c.Store.Bucket == "" {
		errs = append(errs, errors.New("deploy config: store: bucket is required"))
	}
	names := make([]string, 0, len(c.Tiers))
	for n := range c.Tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := c.Tiers[n].validate(); err != nil {
			errs = append(errs, fmt.Errorf("deploy config: tier %s: %w", n, err))
		}
	}
	return &c, errors.Join(errs...)
}

// Tier returns the configuration of tier with defaults filled in.
func (c *Config) Tier(tier string) TierConfig {
	var t TierConfig
	if c != nil {
		t = c.Tiers[tier]
	}
	return t.withDefaults(tier)
}

func (t TierConfig) validate() error {
	var errs []error
	if _, _, err := parseBatch(t.Batch); err != nil {
		errs = append(errs, err)
	}
	if t.Keep < 0 || t.MinHealthy < 0 || t.Health.Retries < 0 {
		errs = append(errs, errors.New("keep, minHealthy and health.retries must not be negative"))
	}
	switch t.LoadBalancer.Kind {
	case "", "none", "alb":
	case "haproxy":
		if t.LoadBalancer.Socket == "" {
			errs = append(errs, errors.New("loadBalancer: haproxy needs socket"))
		}
	default:
		errs = append(errs, fmt.Errorf("loadBalancer.kind %q: want alb, haproxy or none", t.LoadBalancer.Kind))
	}
	if t.Binary != "" && strings.ContainsAny(t.Binary, "/ \t\n") {
		errs = append(errs, fmt.Errorf("binary %q: a plain file name", t.Binary))
	}
	for _, h := range append(append([][]string{}, t.Pre...), t.Post...) {
		if len(h) == 0 {
			errs = append(errs, errors.New("empty hook"))
		}
	}
	return errors.Join(errs...)
}

func (t TierConfig) withDefaults(tier string) TierConfig {
	if t.Binary == "" {
		t.Binary = tier
	}
	if t.Service == "" {
		t.Service = "plinth-" + tier + ".service"
	}
	if len(t.Restart) == 0 {
		t.Restart = []string{"sudo", "-n", "systemctl", "restart", "{service}"}
	}
	if len(t.Logs) == 0 {
		t.Logs = []string{"sudo", "-n", "journalctl", "-u", "{service}", "-n", "20", "--no-pager"}
	}
	if t.Keep == 0 {
		t.Keep = 5
	}
	if t.Keep < 2 {
		t.Keep = 2
	}
	if t.Batch == "" {
		t.Batch = "1"
	}
	if t.Health.Path == "" {
		t.Health.Path = "/health"
	}
	if t.Health.Timeout == 0 {
		t.Health.Timeout = 2 * time.Second
	}
	if t.Health.Retries == 0 {
		t.Health.Retries = 50
	}
	if t.Health.Interval == 0 {
		t.Health.Interval = 100 * time.Millisecond
	}
	return t
}

// parseBatch parses "3" (count) or "25%" (percentage).
func parseBatch(s string) (count, percent int, err error) {
	if s == "" {
		return 1, 0, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, fmt.Errorf("batch %q: want 1%%-100%%", s)
		}
		return 0, n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("batch %q: want a count >= 1 or a percentage", s)
	}
	return n, 0, nil
}

// BatchSize resolves the batch of a tier of hosts hosts: the requested count or percentage, capped so
// that at least minHealthy hosts stay in service. minHealthy 0 means hosts-1 (N+1); a one-host tier
// has N = 0 and necessarily takes its only host out.
func BatchSize(batch string, hosts, minHealthy int) (size, effectiveMin int, err error) {
	count, percent, err := parseBatch(batch)
	if err != nil {
		return 0, 0, err
	}
	if hosts < 1 {
		return 0, 0, errors.New("no hosts")
	}
	if percent > 0 {
		count = (hosts*percent + 99) / 100
	}
	if minHealthy == 0 {
		minHealthy = hosts - 1
	}
	if minHealthy >= hosts {
		return 0, 0, fmt.Errorf("minHealthy %d with %d hosts: no host could ever be taken out", minHealthy, hosts)
	}
	if room := hosts - minHealthy; count > room {
		count = room
	}
	if count < 1 {
		count = 1
	}
	return count, minHealthy, nil
}
