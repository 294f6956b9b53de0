package shared

import (
	"context"
	"fmt"
	"net"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
)

// Drainer returns the load balancer drainer of tier (nil when the tier has none): the tier's config
// decides; by default a tier with an ALB target group in the inventory is drained through the ALB.
func Drainer(ctx context.Context, env *Env, tier string) (deploy.Drainer, error) {
	cfg := env.Config.Tier(tier).LoadBalancer
	t, err := env.Inventory.Tier(tier)
	if err != nil {
		return nil, err
	}
	kind := cfg.Kind
	if kind == "" && t.TargetGroupARN != "" {
		kind = "alb"
	}
	switch kind {
	case "", "none":
		return nil, nil
	case "alb":
		if t.TargetGroupARN == "" {
			return nil, fmt.Errorf("tier %s: loadBalancer alb but the inventory has no targetGroupArn", tier)
		}
		return cloud.NewAWS().ALBDrainer(ctx, env.Inventory.Stack, "", map[string]string{tier: t.TargetGroupARN})
	case "haproxy":
		via, err := viaHost(env.Inventory, cfg.Via)
		if err != nil {
			return nil, fmt.Errorf("tier %s: loadBalancer: %w", tier, err)
		}
		backend := cfg.Backend
		if backend == "" {
			backend = tier
		}
		socket := cfg.Socket
		return lb.HAProxy{
			Dial: func(ctx context.Context) (net.Conn, error) {
				return env.Runner.DialContext(ctx, via, "unix", socket)
			},
			Backends: map[string]string{tier: backend},
		}, nil
	}
	return nil, fmt.Errorf("tier %s: loadBalancer.kind %q", tier, kind)
}

func viaHost(inv *inventory.Inventory, name string) (inventory.Host, error) {
	if name == "" || name == "bastion" {
		if inv.Bastion == nil {
			return inventory.Host{}, fmt.Errorf("haproxy via the bastion, but the inventory has no bastion")
		}
		return inv.Bastion.Host, nil
	}
	for _, tn := range inv.TierNames() {
		for _, h := range inv.Tiers[tn].Hosts {
			if h.Name == name {
				return h, nil
			}
		}
	}
	return inventory.Host{}, fmt.Errorf("via %q: no such host", name)
}
