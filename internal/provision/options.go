// Package provision drives the real Pulumi engine through the Automation API (the only importer of
// sdk/v3/go/auto): preview, up, refresh, destroy and drift of a stack, saved plans, the promotion gate, and
// the local cloud attached in process.
package provision

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// Clouds plinth can provision into.
const (
	CloudAWS   = "aws"   // the real clouds: the aws and gcp provider plugins, real credentials
	CloudLocal = "local" // the simulated providers of internal/localcloud, no credentials
)

// ProjectName is the Pulumi project name (Pulumi.yaml's name).
const ProjectName = "plinth"

// Sentinel errors the CLI maps to exit codes.
var (
	ErrLocked           = errors.New("stack is locked by another operation")
	ErrPromotionRefused = errors.New("promotion refused")
	ErrPlanRefused      = errors.New("plan refused")
	ErrCorruptState     = errors.New("stack state is unreadable")
	ErrNoPulumi         = errors.New("pulumi CLI not found")
	ErrNoStack          = errors.New("stack not found")
	ErrCloudMismatch    = errors.New("stack belongs to another cloud")
)

// Options say which stack to drive and where its state lives.
type Options struct {
	Stack string
	// Program is the Pulumi program (stacks.Program), run inline by the Automation API.
	Program pulumi.RunFunc
	// StackConfig is the content of the stack's settings file (environments/Pulumi.<stack>.yaml).
	StackConfig []byte
	// Home is plinth's data directory (default: os.UserConfigDir()/plinth): default state, work dirs,
	// generated passphrase, local cloud state, locks.
	Home string
	// Backend is the state backend URL: file://DIR (default file://<Home>/state), s3://, gs://, or
	// https://api.pulumi.com for Pulumi Cloud.
	Backend string
	// SecretsProvider is "passphrase" (default) or a KMS URL (awskms://, gcpkms://).
	SecretsProvider string
	// Cloud is CloudAWS (real providers) or CloudLocal (the in-process simulated providers).
	Cloud string
	// LocalCloudDir holds the local cloud's state (default <Home>/localcloud).
	LocalCloudDir string
	// LocalCloudHooks are the live parts attached to the local cloud (see internal/localcloud's Hook); the
	// simulated providers pass every resource change through them.
	LocalCloudHooks []localcloud.Hook
	// LocalCloudLive, when set, is called with the local cloud's directory as the local cloud starts; the
	// hooks it returns (the live cloud, started on demand) are attached after LocalCloudHooks.
	LocalCloudLive func(localCloudDir string) ([]localcloud.Hook, error)
	// PulumiCommand is the pulumi binary (default: found by FindPulumi).
	PulumiCommand string
	// PulumiHome is PULUMI_HOME for the CLI (default: the user's ~/.pulumi).
	PulumiHome string
	// PolicyPacks are policy pack directories attached to every preview and up.
	PolicyPacks []string
	// Revision is the program revision being applied (for the promotion gate and stack tags).
	Revision Revision
	// Promotion maps a stack to the stack that must have applied the same revision first.
	// Default: production <- preproduction.
	Promotion map[string]string
	// Getenv reads the environment (PULUMI_CONFIG_PASSPHRASE, ...); default os.Getenv.
	Getenv func(string) string
	// OnEvent receives engine events as they happen.
	OnEvent func(Event)
	// Parallel bounds concurrent resource operations (0: the engine's default).
	Parallel int
}

var stackNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// DefaultHome is os.UserConfigDir()/plinth.
func DefaultHome() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("plinth home: %w", err)
	}
	return filepath.Join(d, "plinth"), nil
}

// DefaultPromotion is the gate: production only applies what preproduction applied.
func DefaultPromotion() map[string]string { return map[string]string{"production": "preproduction"} }

func (o *Options) withDefaults() (Options, error) {
	opts := *o
	if !stackNameRE.MatchString(opts.Stack) {
		return opts, fmt.Errorf("stack name %q: want letters, digits, '-', '_' or '.'", opts.Stack)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Home == "" {
		h, err := DefaultHome()
		if err != nil {
			return opts, err
		}
		opts.Home = h
	}
	if opts.Backend == "" {
		opts.Backend = "file://" + filepath.Join(opts.Home, "state")
	}
	if opts.Cloud == "" {
		opts.Cloud = CloudAWS
	}
	if opts.Cloud != CloudAWS && opts.Cloud != CloudLocal {
		return opts, fmt.Errorf("cloud %q: want aws or local", opts.Cloud)
	}
	if opts.LocalCloudDir == "" {
		opts.LocalCloudDir = filepath.Join(opts.Home, "localcloud", backendKey(opts.Backend))
	}
	if opts.Promotion == nil {
		opts.Promotion = DefaultPromotion()
	}
	if err := checkBackend(opts.Backend); err != nil {
		return opts, err
	}
	return opts, nil
}

func checkBackend(b string) error {
	u, err := url.Parse(b)
	if err != nil {
		return fmt.Errorf("backend %q: %w", b, err)
	}
	switch u.Scheme {
	case "file", "s3", "gs", "azblob", "https":
		return nil
	}
	return fmt.Errorf("backend %q: want file://DIR, s3://BUCKET, gs://BUCKET or https://api.pulumi.com", b)
}

// backendKey is a short stable name for a backend URL (work dirs and locks are per backend).
func backendKey(backend string) string {
	sum := sha256.Sum256([]byte(backend))
	return hex.EncodeToString(sum[:6])
}

// fileBackendDir returns the directory of a file:// backend, or "".
func fileBackendDir(backend string) string {
	rest, ok := strings.CutPrefix(backend, "file://")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// passphraseEnv returns the environment that gives the CLI the stack passphrase: the caller's
// PULUMI_CONFIG_PASSPHRASE(_FILE) when set, else (for the passphrase provider) a random passphrase generated
// once and kept at <Home>/passphrase with mode 0600.
func passphraseEnv(o Options) (map[string]string, error) {
	if o.SecretsProvider != "" && o.SecretsProvider != "passphrase" {
		return nil, nil
	}
	if v := o.Getenv("PULUMI_CONFIG_PASSPHRASE"); v != "" {
		return map[string]string{"PULUMI_CONFIG_PASSPHRASE": v}, nil
	}
	if v := o.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE"); v != "" {
		return map[string]string{"PULUMI_CONFIG_PASSPHRASE_FILE": v}, nil
	}
	path := filepath.Join(o.Home, "passphrase")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(o.Home, 0o700); err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("passphrase %s: %w", path, err)
		}
		if err == nil {
			_, werr := f.WriteString(hex.EncodeToString(b) + "\n")
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return nil, fmt.Errorf("passphrase %s: %w", path, werr)
			}
		}
	} else if err != nil {
		return nil, fmt.Errorf("passphrase %s: %w", path, err)
	}
	return map[string]string{"PULUMI_CONFIG_PASSPHRASE_FILE": path}, nil
}
