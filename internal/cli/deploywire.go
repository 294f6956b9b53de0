package cli

import (
	"context"
	"errors"
	"os"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/livecloud"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/rollout"
)

// deployConnect is the Factory's DeployConnect: rollout.Connect with the stack's outputs, its recorded
// cloud and, for a local-cloud stack, the live platform the `plinth local serve` server reports (hosts,
// published bastion, operator key, known_hosts, HAProxy's admin socket).
func deployConnect(f *cmdutil.Factory) rollout.Connector {
	return func(ctx context.Context, req rollout.Request) (*rollout.Conn, error) {
		d := rollout.Deps{Getenv: f.Getenv, ProjectDir: f.ProjectDir, StackOutputs: f.StackOutputs,
			Clouds: cloud.Clouds{Recorded: f.StackCloud, Live: liveStatus(f.Getenv)}, Escrow: escrowOpener(f.Getenv)}
		return rollout.Connect(ctx, d, req)
	}
}

// liveStatus reads a stack from the live cloud's server of this plinth home (nil, nil: no server answers,
// or it runs no platform of the stack).
func liveStatus(getenv func(string) string) cloud.LiveStatus {
	return func(ctx context.Context, stack string) (*cloud.LiveStack, error) {
		lc, err := livecloud.New(getenv)
		if err != nil {
			return nil, err
		}
		sock := live.SocketPath(lc.Dir)
		rep, err := live.NewClient(sock).Status(ctx)
		if err != nil {
			if _, serr := os.Stat(sock); errors.Is(serr, os.ErrNotExist) {
				return nil, nil
			}
			return nil, err
		}
		for _, s := range rep.Stacks {
			if s.Stack != stack || len(s.Hosts) == 0 {
				continue
			}
			ls := &cloud.LiveStack{Stack: s.Stack, Bastion: s.Bastion, SSHUser: s.SSHUser, OperatorKey: s.OperatorKey,
				KnownHosts: s.KnownHosts, AdminSocket: s.AdminSocket, Backend: s.Backend}
			for _, h := range s.Hosts {
				ls.Hosts = append(ls.Hosts, cloud.LiveHost{Name: h.Name, Tier: h.Tier, Address: h.Address, State: h.State})
			}
			return ls, nil
		}
		return nil, nil
	}
}
