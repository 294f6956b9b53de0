// Package firewall renders the tier-to-tier port matrix into one security group per tier and one
// standalone rule resource per allowed flow (ingress on the target, egress on the source).
package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:firewall:Firewall"

// Args configure a Firewall.
type Args struct {
	VpcID      pulumi.StringInput
	AdminCIDRs []string
	Ports      Ports
	Tags       pulumi.StringMap
}

// Firewall holds the tiers' security groups.
type Firewall struct {
	pulumi.ResourceState

	// GroupIDs maps a tier name to its security group id.
	GroupIDs map[string]pulumi.IDOutput
	// Rules is the matrix that was rendered.
	Rules []Rule
}

// New renders the matrix.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Firewall, error) {
	if args == nil {
		return nil, fmt.Errorf("firewall %s: args are required", name)
	}
	var admins []netip.Prefix
	for i, c := range args.AdminCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("firewall %s: admin cidr %d %q: %w", name, i, c, err)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("firewall %s: admin cidr %s would open SSH to the internet", name, c)
		}
		admins = append(admins, p)
	}
	fw := &Firewall{GroupIDs: map[string]pulumi.IDOutput{}, Rules: Matrix(args.Ports)}
	if err := ctx.RegisterComponentResource(TypeToken, name, fw, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(fw)

	groups := map[string]*ec2.SecurityGroup{}
	for _, tier := range Tiers {
		sg, err := ec2.NewSecurityGroup(ctx, fmt.Sprintf("%s-%s", name, tier), &ec2.SecurityGroupArgs{
			VpcId:               args.VpcID,
			Description:         pulumi.Sprintf("plinth %s tier", tier),
			RevokeRulesOnDelete: pulumi.Bool(true),
			Tags:                tags.Merge(args.Tags, map[string]string{"Name": name + "-" + tier, "plinth:tier": tier}),
		}, parent)
		if err != nil {
			return nil, err
		}
		groups[tier] = sg
		fw.GroupIDs[tier] = sg.ID()
	}

	for _, r := range fw.Rules {
		to, ok := groups[r.To]
		if !ok {
			return nil, fmt.Errorf("firewall %s: rule %s: unknown target tier", name, r)
		}
		base := fmt.Sprintf("%s-%s-from-%s-%d", name, r.To, r.From, r.Port)
		desc := pulumi.String(r.Purpose)
		ingress := func(suffix string, a *vpc.SecurityGroupIngressRuleArgs) error {
			a.SecurityGroupId = to.ID()
			a.IpProtocol = pulumi.String(r.Protocol)
			a.FromPort = pulumi.Int(r.Port)
			a.ToPort = pulumi.Int(r.Port)
			a.Description = desc
			a.Tags = args.Tags
			_, err := vpc.NewSecurityGroupIngressRule(ctx, base+suffix, a, parent)
			return err
		}
		switch r.From {
		case Internet:
			if err := ingress("-v4", &vpc.SecurityGroupIngressRuleArgs{CidrIpv4: pulumi.String("0.0.0.0/0")}); err != nil {
				return nil, err
			}
			if err := ingress("-v6", &vpc.SecurityGroupIngressRuleArgs{CidrIpv6: pulumi.String("::/0")}); err != nil {
				return nil, err
			}
		case Admin:
			for _, p := range admins {
				a := &vpc.SecurityGroupIngressRuleArgs{CidrIpv4: pulumi.String(p.String())}
				if p.Addr().Is6() {
					a = &vpc.SecurityGroupIngressRuleArgs{CidrIpv6: pulumi.String(p.String())}
				}
				if err := ingress("-"+cidrSlug(p), a); err != nil {
					return nil, err
				}
			}
		default:
			from, ok := groups[r.From]
			if !ok {
				return nil, fmt.Errorf("firewall %s: rule %s: unknown source tier", name, r)
			}
			if err := ingress("", &vpc.SecurityGroupIngressRuleArgs{ReferencedSecurityGroupId: from.ID()}); err != nil {
				return nil, err
			}
			if _, err := vpc.NewSecurityGroupEgressRule(ctx, fmt.Sprintf("%s-%s-to-%s-%d", name, r.From, r.To, r.Port), &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId:           from.ID(),
				ReferencedSecurityGroupId: to.ID(),
				IpProtocol:                pulumi.String(r.Protocol),
				FromPort:                  pulumi.Int(r.Port),
				ToPort:                    pulumi.Int(r.Port),
				Description:               desc,
				Tags:                      args.Tags,
			}, parent); err != nil {
				return nil, err
			}
		}
	}
	for _, tier := range EgressToInternet {
		if _, err := vpc.NewSecurityGroupEgressRule(ctx, fmt.Sprintf("%s-%s-to-internet-443", name, tier), &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: groups[tier].ID(),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(HTTPS),
			ToPort:          pulumi.Int(HTTPS),
			Description:     pulumi.String("HTTPS out: AWS APIs, package updates, the backup vault"),
			Tags:            args.Tags,
		}, parent); err != nil {
			return nil, err
		}
	}

	outs := pulumi.Map{}
	for tier, id := range fw.GroupIDs {
		outs[tier+"SecurityGroupId"] = id
	}
	if err := ctx.RegisterResourceOutputs(fw, outs); err != nil {
		return nil, fmt.Errorf("firewall %s: register outputs: %w", name, err)
	}
	return fw, nil
}

// cidrSlug makes a CIDR usable in a resource name: 203.0.113.0/24 -> 203-0-113-0-24.
func cidrSlug(p netip.Prefix) string {
	return strings.NewReplacer(".", "-", ":", "-", "/", "-").Replace(p.String())
}
