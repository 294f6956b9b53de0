package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/plinth-dev/plinth/components/tier"
	"github.com/plinth-dev/plinth/environments"
)

// drillFromConfig returns the stack's `plinth:drill` config (ok false when the stack is not a drill stack).
func drillFromConfig(ctx *pulumi.Context) (environments.Drill, bool, error) {
	raw, ok := ctx.GetConfig(environments.DrillConfigKey)
	if !ok {
		return environments.Drill{}, false, nil
	}
	d, err := environments.ParseDrill(raw)
	if err != nil {
		return d, true, fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	return d, true, nil
}

// BuildDrill builds drill d of production's spec: the load balancer, the compute tiers and the bastion in
// the DR region, inside production's DR network and with its DR firewall's security groups (so the drill
// reaches the drill database exactly as production's tiers reach theirs), every resource tagged
// plinth:drill=<id>. No network, database, search, cache or vault: the DR network and the vault are
// production's, the database is the one the drill's data step made, and the app tier is told of it
// (drillAppData: the drill's verify proves a write into it). spec is production's (ForDrill derives the
// drill's).
func BuildDrill(ctx *pulumi.Context, prod environments.Spec, d environments.Drill) (*Platform, error) {
	spec, err := prod.ForDrill(d)
	if err != nil {
		return nil, err
	}
	p := &Platform{Spec: spec, Tiers: map[string]*tier.Tier{}, drill: &d}
	tags := BaseTags(spec)
	tags[environments.DrillTag] = pulumi.String(d.ID)
	account := pulumi.String(spec.AccountID)
	provider, err := aws.NewProvider(ctx, spec.Stack+"-aws-"+spec.Region, &aws.ProviderArgs{
		Region:            pulumi.String(spec.Region),
		AllowedAccountIds: pulumi.StringArray{account},
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: tags},
	})
	if err != nil {
		return nil, err
	}
	n := d.Network

	err = buildCompute(ctx, p, placement{
		VpcID: pulumi.String(n.VpcID), Public: pulumi.ToStringArray(n.PublicSubnetIDs), Private: pulumi.ToStringArray(n.PrivateSubnetIDs),
		Group:   func(t string) pulumi.StringInput { return pulumi.String(n.SecurityGroups[t]) },
		AppData: pulumix.Val(drillAppData(prod.Stack, d)),
	}, tags, pulumi.Provider(provider))
	if err != nil {
		return nil, err
	}
	return p, nil
}
