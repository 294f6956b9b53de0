package cloud

import (
	"context"
	"fmt"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// SSHAccess is how the operator reaches a stack's hosts over SSH, beyond the inventory's addresses: which
// keys, which host keys to trust, where the bastion keeps the deploy lock and the audit log. Empty fields
// leave the operator's own defaults (ssh-agent, ~/.ssh/id_ed25519, ~/.ssh/known_hosts, the inventory's
// state directory); flags always win over both.
type SSHAccess struct {
	IdentityFiles   []string
	KnownHosts      []string
	BastionStateDir string
}

// Access is the part of a Cloud deploy needs besides Hosts: SSH access and a tier's load balancer.
type Access interface {
	// SSHAccess says how to reach the stack's hosts (zero: the operator's defaults).
	SSHAccess(ctx context.Context, stack string) (SSHAccess, error)
	// Drainer takes the tier's hosts out of its load balancer and puts them back (nil, nil: the tier has
	// none).
	Drainer(ctx context.Context, stack string, tier *inventory.Tier) (deploy.Drainer, error)
}

// SSHAccess: an AWS stack's hosts are reached with the operator's own keys and known_hosts.
func (AWSCloud) SSHAccess(context.Context, string) (SSHAccess, error) { return SSHAccess{}, nil }

// Drainer drains a tier behind the ALB through its target group (ELBv2 API); nil for other tiers.
func (c AWSCloud) Drainer(ctx context.Context, stack string, tier *inventory.Tier) (deploy.Drainer, error) {
	if tier == nil || tier.TargetGroupARN == "" {
		return nil, nil
	}
	return c.ALBDrainer(ctx, stack, "", map[string]string{tier.Name: tier.TargetGroupARN})
}

// Clouds resolves a stack's cloud: the one it recorded, or the one asked for (--cloud).
type Clouds struct {
	// Recorded reads the cloud a stack was provisioned into (nil: aws).
	Recorded Recorded
	// Live reads a local-cloud stack's live platform (nil: the local cloud is bookkeeping only).
	Live LiveStatus
	// AWS is the AWS cloud (zero: the default config chain).
	AWS AWSCloud
}

// For returns the Cloud of stack. want ("" : the recorded one) must match what the stack recorded, when
// it recorded one: a stack lives in one cloud.
func (cs Clouds) For(ctx context.Context, stack, want string) (Cloud, error) {
	name := ""
	if cs.Recorded != nil {
		n, err := cs.Recorded(ctx, stack)
		if err != nil {
			return nil, fmt.Errorf("stack %s: which cloud: %w", stack, err)
		}
		name = n
	}
	switch {
	case want != "" && name != "" && want != name:
		return nil, fmt.Errorf("stack %s was provisioned into the %s cloud, not %s: %w", stack, name, want, ErrCloudMismatch)
	case want != "":
		name = want
	case name == "":
		name = AWS
	}
	switch name {
	case AWS:
		return cs.AWS, nil
	case Local:
		return LocalCloud{Live: cs.Live}, nil
	}
	return nil, fmt.Errorf("stack %s: cloud %q: want aws or local", stack, name)
}
