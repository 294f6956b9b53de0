package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// pulumiCommand wraps the CLI binary at path. The Automation API wants <root>/bin/pulumi; a binary elsewhere
// is linked into <home>/pulumi-root/bin.
func pulumiCommand(home, path string) (auto.PulumiCommand, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("pulumi %s: %w", path, err)
	}
	root := filepath.Dir(filepath.Dir(abs))
	if filepath.Base(filepath.Dir(abs)) != "bin" || filepath.Base(abs) != "pulumi" {
		root = filepath.Join(home, "pulumi-root")
		link := filepath.Join(root, "bin", "pulumi")
		if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
			return nil, fmt.Errorf("pulumi %s: %w", path, err)
		}
		_ = os.Remove(link)
		if err := os.Symlink(abs, link); err != nil {
			return nil, fmt.Errorf("pulumi %s: %w", path, err)
		}
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("pulumi %s: %w", path, err)
	}
	return cmd, nil
}

// workspace prepares what the Automation API's workspace needs: the pulumi CLI (linked where it wants it), the
// environment (backend, passphrase; with --cloud local the local cloud, started here with its hooks), and the
// per-backend work dir.
func (e *Engine) workspace() ([]auto.LocalWorkspaceOption, error) {
	var err error
	pulumiPath := e.opts.PulumiCommand
	if pulumiPath == "" {
		if pulumiPath, err = FindPulumi(e.opts.Getenv, ""); err != nil {
			return nil, err
		}
	}
	cmd, err := pulumiCommand(e.opts.Home, pulumiPath)
	if err != nil {
		return nil, err
	}

	env := map[string]string{
		"PULUMI_BACKEND_URL":       e.opts.Backend,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	pp, err := passphraseEnv(e.opts)
	if err != nil {
		return nil, err
	}
	for k, v := range pp {
		env[k] = v
	}
	if e.opts.Cloud == CloudLocal {
		hooks := e.opts.LocalCloudHooks
		if e.opts.LocalCloudLive != nil {
			more, err := e.opts.LocalCloudLive(e.opts.LocalCloudDir)
			if err != nil {
				return nil, err
			}
			hooks = append(append([]localcloud.Hook(nil), hooks...), more...)
			e.liveHooks = more
		}
		if e.cloud, err = localcloud.Start(e.opts.LocalCloudDir, hooks...); err != nil {
			return nil, err
		}
		env["PULUMI_DEBUG_PROVIDERS"] = e.cloud.DebugProviders()
		env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	}

	e.workDir = filepath.Join(e.opts.Home, "work", backendKey(e.opts.Backend))
	if err := os.MkdirAll(e.workDir, 0o700); err != nil {
		return nil, fmt.Errorf("work dir %s: %w", e.workDir, err)
	}
	secrets := e.opts.SecretsProvider
	if secrets == "" {
		secrets = "passphrase"
	}
	wsOpts := []auto.LocalWorkspaceOption{
		auto.WorkDir(e.workDir),
		auto.Project(workspace.Project{Name: ProjectName, Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.EnvVars(env),
		auto.Pulumi(cmd),
		auto.SecretsProvider(secrets),
	}
	if e.opts.PulumiHome != "" {
		wsOpts = append(wsOpts, auto.PulumiHome(e.opts.PulumiHome))
	}
	return wsOpts, nil
}

// LocalCloudResumer is a live hook that brings a stack's live parts back after an up: an up that changed
// nothing the hook saw still finds a stopped platform running again (`plinth local stop`, then `up`).
type LocalCloudResumer interface {
	Resume(ctx context.Context, stack string) error
}

// resumeLive resumes the stack on every live hook that can.
func (e *Engine) resumeLive(ctx context.Context) error {
	for _, h := range e.liveHooks {
		if r, ok := h.(LocalCloudResumer); ok {
			if err := r.Resume(ctx, e.opts.Stack); err != nil {
				return fmt.Errorf("stack %s: live local cloud: %w", e.opts.Stack, err)
			}
		}
	}
	return nil
}
