// Package shared holds what every `plinth deploy` verb shares: the connection flags (turned into a
// rollout.Request; internal/rollout connects), who runs the command, and the connector default.
package shared

import (
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// Flags are the flags shared by the deploy verbs: the connection internal/rollout makes, and the output.
type Flags struct {
	rollout.Request
	Output string
}

// AddFlags registers the shared flags on cmd.
func AddFlags(cmd *cobra.Command, f *Flags) {
	cmd.Flags().StringVarP(&f.Stack, "stack", "s", "", "stack name (required)")
	cmd.Flags().StringVar(&f.Cloud, "cloud", "", "the stack's cloud: aws or local (default: the cloud the stack was provisioned into)")
	_ = cmd.RegisterFlagCompletionFunc("cloud", cobra.FixedCompletions([]string{"aws", "local"}, cobra.ShellCompDirectiveNoFileComp))
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
	switch f.Cloud {
	case "", "aws", "local":
	default:
		return cmdutil.FlagErrorf("--cloud: want aws or local, got %q", f.Cloud)
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

// Defaults fills what a test did not: who runs the command and how it connects.
func Defaults(f *cmdutil.Factory, holder *string, connect *rollout.Connector) {
	if holder != nil && *holder == "" {
		*holder = Holder(f)
	}
	if connect != nil && *connect == nil {
		*connect = f.Deployer()
	}
}
