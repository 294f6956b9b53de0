// Package engineflags is what plinth's engine commands (preview, up, refresh, destroy, drift) share: the
// backend/secrets/cloud flags, resolving them into provision.Options, and mapping engine errors to exit codes.
package engineflags

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/views"
)

// Flags are the engine flags every engine command takes.
type Flags struct {
	Backend         string
	SecretsProvider string
	Cloud           string
	Home            string
	PolicyPacks     []string
	Parallel        int
}

// Add registers the engine flags on cmd.
func Add(cmd *cobra.Command, fl *Flags) {
	fs := cmd.Flags()
	fs.StringVar(&fl.Cloud, "cloud", "", "aws (real providers, real credentials) or local (the in-process simulated cloud); default $PLINTH_CLOUD or aws")
	fs.StringVar(&fl.Backend, "backend", "", "state backend URL: file://DIR, s3://BUCKET, gs://BUCKET, https://api.pulumi.com; default $PLINTH_BACKEND or file://<config dir>/plinth/state")
	fs.StringVar(&fl.SecretsProvider, "secrets-provider", "", "passphrase, or a KMS URL (awskms://..., gcpkms://...); default $PLINTH_SECRETS_PROVIDER or passphrase")
	fs.StringArrayVar(&fl.PolicyPacks, "policy-pack", nil, "policy pack directory to run with every preview and up (repeatable; default: the project's policy/ when the engine can run it)")
	fs.IntVar(&fl.Parallel, "parallel", 0, "maximum concurrent resource operations (0: the engine's default)")
}

// Validate checks flag values.
func (fl *Flags) Validate() error {
	switch fl.Cloud {
	case "", provision.CloudAWS, provision.CloudLocal:
	default:
		return cmdutil.FlagErrorf("--cloud: want aws or local, got %q", fl.Cloud)
	}
	if fl.Parallel < 0 {
		return cmdutil.FlagErrorf("--parallel: want >= 0, got %d", fl.Parallel)
	}
	return nil
}

// Env is what resolving options needs from the Factory.
type Env struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	Getenv     func(string) string
	// Program is the Pulumi program the engine runs (the Factory's: stacks.Program).
	Program pulumi.RunFunc
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// Options resolves flags, environment and project files into provision.Options for stack. Progress goes to
// the command's stdout in output (--output: JSON lines for json).
func Options(ctx context.Context, env Env, stack string, fl Flags, output string) (provision.Options, error) {
	if err := fl.Validate(); err != nil {
		return provision.Options{}, err
	}
	if env.Program == nil {
		return provision.Options{}, errors.New("no Pulumi program linked into this plinth build")
	}
	dir, err := env.ProjectDir()
	if err != nil {
		return provision.Options{}, fmt.Errorf("project dir: %w", err)
	}
	progress := views.NewEngineProgress(env.IO.Out, output)
	o, err := provision.Resolve(ctx, provision.Request{
		Stack: stack, ProjectDir: dir, Program: env.Program, Getenv: env.getenv, OnEvent: progress.Event,
		Backend: fl.Backend, SecretsProvider: fl.SecretsProvider, Cloud: fl.Cloud, PolicyPacks: fl.PolicyPacks,
		Parallel: fl.Parallel,
		Note:     func(msg string) { fmt.Fprintf(env.IO.ErrOut, "note: %s\n", msg) },
	})
	return o, cmdutil.Coded(err)
}

// Operator names who runs an operation, for the audit record of a promotion override.
func Operator(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	return firstNonEmpty(getenv("GITHUB_ACTOR"), getenv("GITLAB_USER_LOGIN"), getenv("USER"), "unknown")
}

// StackOutputs returns the Factory's reader of stack outputs: the provisioned stack's outputs, read from the
// backend in $PLINTH_BACKEND (default: the local state), without taking the stack's lock.
func StackOutputs(getenv func(string) string, projectDir func() (string, error)) func(context.Context, string) (map[string]any, error) {
	return func(ctx context.Context, stack string) (map[string]any, error) {
		o, err := readOptions(getenv, projectDir, stack)
		if err != nil {
			return nil, err
		}
		outs, err := provision.ReadOutputs(ctx, o)
		if errors.Is(err, provision.ErrNoStack) {
			return nil, fmt.Errorf("%w (%w)", cmdutil.ErrNoStackOutputs, err)
		}
		return outs, err
	}
}

// StackCloud returns the Factory's reader of a stack's recorded cloud (its plinth:cloud tag; "" when the
// stack has none or does not exist: its outputs reader reports that).
func StackCloud(getenv func(string) string, projectDir func() (string, error)) cloud.Recorded {
	return func(ctx context.Context, stack string) (string, error) {
		o, err := readOptions(getenv, projectDir, stack)
		if err != nil {
			return "", err
		}
		tags, err := provision.ReadTags(ctx, o)
		if errors.Is(err, provision.ErrNoStack) {
			return "", nil
		}
		return tags[provision.TagCloud], err
	}
}

// readOptions are the options of a read-only look at a stack (no lock, no program).
func readOptions(getenv func(string) string, projectDir func() (string, error), stack string) (provision.Options, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir, _ := projectDir()
	pulumiPath, err := provision.FindPulumi(getenv, dir)
	if err != nil {
		return provision.Options{}, fmt.Errorf("%w: %w", cmdutil.ErrNoStackOutputs, err)
	}
	return provision.Options{
		Stack:           stack,
		Home:            getenv("PLINTH_HOME"),
		Backend:         getenv("PLINTH_BACKEND"),
		SecretsProvider: getenv("PLINTH_SECRETS_PROVIDER"),
		PulumiCommand:   pulumiPath,
		Getenv:          getenv,
	}, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Engine is what the commands need of an opened stack (provision.Engine; fakes in tests).
type Engine interface {
	Preview(context.Context, provision.PreviewOptions) (provision.Result, error)
	Up(context.Context, provision.UpOptions) (provision.Result, error)
	Refresh(context.Context) (provision.Result, error)
	Destroy(context.Context) (provision.Result, error)
	Drift(context.Context) (provision.DriftReport, error)
	Close()
}

// Opener opens a stack.
type Opener func(context.Context, provision.Options) (Engine, error)

// OpenEngine opens a stack with the real engine.
func OpenEngine(ctx context.Context, o provision.Options) (Engine, error) {
	e, err := provision.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Open resolves options and opens the stack: the common start of every engine command.
func Open(ctx context.Context, env Env, open Opener, stack string, fl Flags, output string) (Engine, error) {
	po, err := Options(ctx, env, stack, fl, output)
	if err != nil {
		return nil, err
	}
	if open == nil {
		open = OpenEngine
	}
	e, err := open(ctx, po)
	if err != nil {
		return nil, cmdutil.Coded(err)
	}
	return e, nil
}
