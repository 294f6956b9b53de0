// Package stacks is the Pulumi program: it reads the environment spec from stack config and wires it into
// the components, exporting the typed inventory that deploys, backups and DR drills read back. Wiring only:
// every resource lives in a component. The same function runs under the `pulumi` CLI (cmd/program,
// Pulumi.yaml), under plinth's Automation API driver, and offline under the mock engine.
package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/bastion"
	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/components/loadbalancer"
	"github.com/plinth-dev/plinth/components/network"
	"github.com/plinth-dev/plinth/components/tier"
	"github.com/plinth-dev/plinth/environments"
)

// Program is the Pulumi program.
func Program(ctx *pulumi.Context) error {
	_, err := Run(ctx)
	return err
}

// Run is Program returning what it exported (the mock engine does not surface stack outputs).
func Run(ctx *pulumi.Context) (pulumi.Map, error) {
	spec, err := SpecFromConfig(ctx)
	if err != nil {
		return nil, err
	}
	return RunSpec(ctx, spec)
}

// RunSpec builds an already loaded spec and exports its outputs. Tests use it to build variants (the policy
// corpus builds specs that validation would refuse).
func RunSpec(ctx *pulumi.Context, spec environments.Spec) (pulumi.Map, error) {
	p, err := Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	exports := p.Exports()
	for k, v := range exports {
		ctx.Export(k, v)
	}
	return exports, nil
}

// SpecFromConfig loads and validates the `plinth:spec` stack config.
func SpecFromConfig(ctx *pulumi.Context) (environments.Spec, error) {
	cfg := map[string]string{}
	if raw, ok := ctx.GetConfig(environments.ConfigKey); ok {
		cfg[environments.ConfigKey] = raw
	}
	spec, err := environments.Load(ctx.Stack(), cfg)
	if err != nil {
		return spec, fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	return spec, nil
}

// Platform is everything one stack built.
type Platform struct {
	Spec         environments.Spec
	Network      *network.Network
	Firewall     *firewall.Firewall
	LoadBalancer *loadbalancer.LoadBalancer
	Tiers        map[string]*tier.Tier
	Bastion      *bastion.Bastion
}

// BaseTags go on every resource: who owns it and which environment it belongs to.
func BaseTags(spec environments.Spec) pulumi.StringMap {
	return pulumi.StringMap{
		"environment": pulumi.String(spec.Environment),
		"owner":       pulumi.String(spec.Owner),
		"stack":       pulumi.String(spec.Stack),
		"managed-by":  pulumi.String("plinth"),
	}
}

// Build wires spec into components.
func Build(ctx *pulumi.Context, spec environments.Spec) (*Platform, error) {
	p := &Platform{Spec: spec, Tiers: map[string]*tier.Tier{}}
	name := func(s string) string { return spec.Stack + "-" + s }
	tags := BaseTags(spec)
	account := pulumi.String(spec.AccountID)

	primary, err := aws.NewProvider(ctx, name("aws-"+spec.Region), &aws.ProviderArgs{
		Region:            pulumi.String(spec.Region),
		AllowedAccountIds: pulumi.StringArray{account},
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: tags},
	})
	if err != nil {
		return nil, err
	}
	inPrimary := pulumi.Provider(primary)

	p.Network, err = network.New(ctx, name("network"), &network.Args{
		Region: spec.Region, CIDR: spec.VPCCIDR, AZCount: spec.AZCount,
		PerAZNAT: spec.NATStrategy == environments.NATPerAZ, LogRetentionDays: spec.LogRetentionDays,
		AccountID: account, Tags: tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}
	p.Firewall, err = firewall.New(ctx, name("firewall"), &firewall.Args{
		VpcID:      p.Network.VpcID.ToStringOutput(),
		AdminCIDRs: spec.AdminCIDRs,
		Ports:      firewall.Ports{App: spec.Tiers.App.Port, SFTP: spec.Tiers.SFTP.Port},
		Tags:       tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}
	sg := func(t string) pulumi.StringOutput { return p.Firewall.GroupIDs[t].ToStringOutput() }

	p.LoadBalancer, err = loadbalancer.New(ctx, name("lb"), &loadbalancer.Args{
		Region: spec.Region, VpcID: p.Network.VpcID.ToStringOutput(), PublicSubnetIDs: p.Network.PublicSubnetIDs,
		SecurityGroupID: sg(firewall.LB), CertificateARN: spec.CertificateARN, AppPort: spec.Tiers.App.Port,
		DeletionProtection: spec.DeletionProtection, LogRetentionDays: spec.LogRetentionDays, Tags: tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}

	paramPath := "/plinth/" + spec.Stack
	for _, t := range computeTiers(spec) {
		var tgs pulumi.StringArrayInput
		if t.name == firewall.App {
			tgs = pulumi.StringArray{p.LoadBalancer.AppTargetGroupARN}
		}
		p.Tiers[t.name], err = tier.New(ctx, name(t.name), &tier.Args{
			Tier: t.name, Region: spec.Region, AccountID: account,
			SubnetIDs: p.Network.PrivateSubnetIDs, SecurityGroupID: sg(t.name),
			InstanceType: t.spec.InstanceType, Min: t.spec.Min, Desired: t.spec.Desired, Max: t.spec.Max,
			RootVolumeGiB: t.spec.RootVolumeGiB, TargetGroupARNs: tgs, SSHUser: spec.Bastion.SSHUser,
			ParameterPath: paramPath, LogRetentionDays: spec.LogRetentionDays, Tags: tags,
		}, inPrimary)
		if err != nil {
			return nil, err
		}
	}

	p.Bastion, err = bastion.New(ctx, name("bastion"), &bastion.Args{
		Region: spec.Region, AccountID: account, PublicSubnetIDs: p.Network.PublicSubnetIDs,
		SecurityGroupID: sg(firewall.Bastion), InstanceType: spec.Bastion.InstanceType,
		SSHUser: spec.Bastion.SSHUser, ParameterPath: paramPath, LogRetentionDays: spec.LogRetentionDays, Tags: tags,
	}, inPrimary)
	if err != nil {
		return nil, err
	}
	return p, nil
}
