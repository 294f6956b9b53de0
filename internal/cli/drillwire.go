package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/livecloud"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/views"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// drillPlatform is the Factory's DrillPlatform: the drill stack of stack, run through the same engine
// options `plinth up --stack <stack>` resolves (backend, secrets, the stack's recorded cloud, the live local
// cloud's hooks), from the stack's own config and its inventory's DR network. Engine progress goes to
// stderr: stdout holds the drill report.
func drillPlatform(f *cmdutil.Factory) func(ctx context.Context, stack string) (*drill.StackPlatform, error) {
	return func(ctx context.Context, stack string) (*drill.StackPlatform, error) {
		dir, err := f.ProjectDir()
		if err != nil {
			return nil, fmt.Errorf("project dir: %w", err)
		}
		recorded := ""
		if f.StackCloud != nil {
			if recorded, err = f.StackCloud(ctx, stack); err != nil {
				return nil, err
			}
		}
		o, err := provision.Resolve(ctx, provision.Request{
			Stack: stack, ProjectDir: dir, Program: f.Program, Getenv: f.Getenv, Cloud: recorded,
			OnEvent: views.NewEngineProgress(f.IOStreams.ErrOut, views.FormatHuman).Event,
			Note:    func(msg string) { fmt.Fprintf(f.IOStreams.ErrOut, "note: %s\n", msg) },
		})
		if err != nil {
			return nil, err
		}
		if o.Cloud == provision.CloudLocal {
			o.LocalCloudLive = f.LocalCloudLive
		}
		cfg, err := environments.ParseStackFile(o.StackConfig)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", stack, err)
		}
		sp := &drill.StackPlatform{Engine: drill.EngineStacks{Options: o}, Source: stack, Config: cfg.Values}
		// Without outputs (never provisioned here) the platform can still tear a drill stack down; Build
		// says what is missing.
		if outs, err := f.StackOutputs(ctx, stack); err == nil {
			if inv, err := contract.Parse(outs); err == nil {
				sp.Network = inv.DRNetwork
			}
		}
		if o.Cloud == provision.CloudLocal {
			sp.Address = liveAddress(f.Getenv)
		}
		return sp, nil
	}
}

// liveAddress is a local drill stack's published HTTPS address and CA, from the live cloud's server.
func liveAddress(getenv func(string) string) func(ctx context.Context, stack string, _ *contract.Inventory) (string, string, error) {
	return func(ctx context.Context, stack string, _ *contract.Inventory) (string, string, error) {
		lc, err := livecloud.New(getenv)
		if err != nil {
			return "", "", err
		}
		rep, err := live.NewClient(live.SocketPath(lc.Dir)).Status(ctx)
		if err != nil {
			return "", "", fmt.Errorf("the live local cloud: %w", err)
		}
		for _, s := range rep.Stacks {
			if s.Stack == stack && s.URL != "" {
				return s.URL, s.CAFile, nil
			}
		}
		return "", "", errors.New("the live local cloud publishes no load balancer for " + stack)
	}
}
