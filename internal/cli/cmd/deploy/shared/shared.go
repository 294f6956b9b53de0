// Package shared builds what every `plinth deploy` verb needs: the inventory, the deploy config, the SSH
// runner, the lock/audit state on the bastion and the load balancer drainer.
package shared

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/local"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
)

// Flags are the connection flags shared by the deploy verbs.
type Flags struct {
	Stack      string
	Inventory  string
	Config     string
	Identity   []string
	KnownHosts []string
	NoAgent    bool
	Compress   string
	WindowKiB  int
	Timeout    time.Duration
	// StepTimeout and KeepAlive override the deploy config's stepTimeout and keepalive (0: the config's).
	StepTimeout time.Duration
	KeepAlive   time.Duration
	// Parallel overrides the deploy config's parallel (0: the config's).
	Parallel int
	Output   string
}

// AddFlags registers the shared flags on cmd.
func AddFlags(cmd *cobra.Command, f *Flags) {
	cmd.Flags().StringVarP(&f.Stack, "stack", "s", "", "stack name (required)")
	cmd.Flags().StringVar(&f.Inventory, "inventory", "", "YAML inventory file (default: the stack's outputs + the cloud API)")
	cmd.Flags().StringVar(&f.Config, "config", "", "deploy config (default: deploy.yaml in the project directory, when present)")
	cmd.Flags().StringArrayVarP(&f.Identity, "identity", "i", nil, "SSH private key file (repeatable; default: ssh-agent, then ~/.ssh/id_ed25519)")
	cmd.Flags().StringArrayVar(&f.KnownHosts, "known-hosts", nil, "known_hosts file (repeatable; default ~/.ssh/known_hosts)")
	cmd.Flags().BoolVar(&f.NoAgent, "no-agent", false, "do not use ssh-agent")
	cmd.Flags().StringVar(&f.Compress, "compress", "auto", "upload encoding: auto (zstd when the host has it), zstd, none")
	cmd.Flags().IntVar(&f.WindowKiB, "upload-window", 1024, "KiB of an upload in flight per host beyond what it has written (0: unpaced); throughput per host is at most this per round trip")
	cmd.Flags().DurationVar(&f.Timeout, "connect-timeout", 10*time.Second, "SSH connect + handshake timeout")
	cmd.Flags().DurationVar(&f.StepTimeout, "step-timeout", 0, "bound of every step on a host, a hung host fails its step at it (default: deploy.yaml's stepTimeout, else 10m)")
	cmd.Flags().IntVar(&f.Parallel, "parallel", 0, "hosts worked on at once: connections, uploads, commands (default: deploy.yaml's parallel, else every host)")
	cmd.Flags().DurationVar(&f.KeepAlive, "keepalive", 0, "SSH keepalive interval; three unanswered give a host up (default: deploy.yaml's keepalive, else 15s)")
	cmdutil.AddOutputFlag(cmd, &f.Output)
}

// Validate checks the shared flags.
func (f *Flags) Validate() error {
	if f.Stack == "" {
		return cmdutil.FlagErrorf("--stack is required")
	}
	switch f.Compress {
	case "", "auto", "zstd", "none":
	default:
		return cmdutil.FlagErrorf("--compress: want auto, zstd or none, got %q", f.Compress)
	}
	if f.StepTimeout < 0 || f.KeepAlive < 0 {
		return cmdutil.FlagErrorf("--step-timeout and --keepalive: want a positive duration")
	}
	if f.Parallel < 0 {
		return cmdutil.FlagErrorf("--parallel: want a number of hosts, got %d", f.Parallel)
	}
	if f.WindowKiB < 0 {
		return cmdutil.FlagErrorf("--upload-window: want a size in KiB (0: unpaced), got %d", f.WindowKiB)
	}
	return cmdutil.ValidateOutput(f.Output)
}

// Env is everything a deploy verb works with. Close releases connections.
type Env struct {
	Inventory *inventory.Inventory
	Config    *deploy.Config
	Runner    deploy.Runner
	State     deploy.State
	// StepTimeout bounds every step on a host (--step-timeout, else the config's; 0: the executor's default).
	StepTimeout time.Duration
	// Parallel bounds the hosts worked on at once (--parallel, else the config's; 0: every host).
	Parallel int
	Close    func()
}

// Load builds the Env for flags.
func Load(ctx context.Context, f *cmdutil.Factory, fl *Flags) (*Env, error) {
	inv, err := LoadInventory(ctx, f, fl)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(f, fl)
	if err != nil {
		return nil, cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, err)
	}
	home := f.Getenv("HOME")
	sc := sshx.Config{KnownHosts: fl.KnownHosts, IdentityFiles: fl.Identity, DialTimeout: fl.Timeout, Compress: fl.Compress,
		UploadWindow: int64(fl.WindowKiB) << 10, KeepAlive: cmp.Or(fl.KeepAlive, cfg.KeepAlive)}
	if fl.WindowKiB == 0 {
		sc.UploadWindow = -1 // unpaced
	}
	if len(sc.KnownHosts) == 0 {
		sc.KnownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	if sock := f.Getenv("SSH_AUTH_SOCK"); sock != "" && !fl.NoAgent {
		sc.AgentSocket = sock
	}
	if len(sc.IdentityFiles) == 0 && sc.AgentSocket == "" {
		if p := filepath.Join(home, ".ssh", "id_ed25519"); fileExists(p) {
			sc.IdentityFiles = []string{p}
		}
	}
	if inv.Bastion != nil && !inv.Bastion.Direct {
		b := inv.Bastion.Host
		sc.Bastion = &b
	}
	r, err := sshx.New(sc)
	if err != nil {
		return nil, err
	}
	env := &Env{Inventory: inv, Config: cfg, Runner: r, StepTimeout: cmp.Or(fl.StepTimeout, cfg.StepTimeout),
		Parallel: cmp.Or(fl.Parallel, cfg.Parallel), Close: func() { _ = r.Close() }}
	if inv.Bastion != nil {
		env.State = deploy.State{Runner: r, Host: inv.Bastion.Host, Dir: inv.Bastion.StateDir}
	} else {
		// No bastion (on-premise, one operator): lock and audit log on this machine.
		dir := filepath.Join(home, ".local", "state", "plinth")
		env.State = deploy.State{Runner: local.Runner{}, Host: inventory.Host{Name: "localhost"}, Dir: dir}
	}
	return env, nil
}

// LoadInventory reads --inventory, or the stack's outputs resolved through the cloud API.
func LoadInventory(ctx context.Context, f *cmdutil.Factory, fl *Flags) (*inventory.Inventory, error) {
	if fl.Inventory != "" {
		inv, err := inventory.File{Path: fl.Inventory}.Inventory(ctx, fl.Stack)
		if err != nil {
			return nil, cmdutil.WithExitCode(cmdutil.ExitConfigInvalid, err)
		}
		return inv, nil
	}
	if f.StackOutputs == nil {
		return nil, cmdutil.ErrNoStackOutputs
	}
	outputs, err := f.StackOutputs(ctx, fl.Stack)
	if err != nil {
		return nil, err
	}
	c, err := cloud.For(ctx, f.StackCloud, fl.Stack)
	if err != nil {
		return nil, err
	}
	return c.Hosts(ctx, fl.Stack, outputs)
}

// LoadConfig reads --config or deploy.yaml in the project directory (absent: defaults).
func LoadConfig(f *cmdutil.Factory, fl *Flags) (*deploy.Config, error) {
	path := fl.Config
	if path == "" && f.ProjectDir != nil {
		if dir, err := f.ProjectDir(); err == nil {
			if p := filepath.Join(dir, "deploy.yaml"); fileExists(p) {
				path = p
			}
		}
	}
	if path == "" {
		return &deploy.Config{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deploy config: %w", err)
	}
	return deploy.ParseConfig(data)
}

// Holder names who runs the command: user@machine ($PLINTH_DEPLOYER overrides, e.g. in CI).
func Holder(f *cmdutil.Factory) string {
	if h := f.Getenv("PLINTH_DEPLOYER"); h != "" {
		return h
	}
	name := f.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Defaults fills the options every deploy verb shares when a test did not: who runs it, how the Env is
// loaded, and how drainers are chosen (any pointer may be nil).
func Defaults(f *cmdutil.Factory, holder *string, load *func(context.Context, *Flags) (*Env, error), drainer *func(context.Context, *Env, string) (deploy.Drainer, error)) {
	if holder != nil && *holder == "" {
		*holder = Holder(f)
	}
	if load != nil && *load == nil {
		*load = func(ctx context.Context, fl *Flags) (*Env, error) { return Load(ctx, f, fl) }
	}
	if drainer != nil && *drainer == nil {
		*drainer = Drainer
	}
}
