// Package bastion is the single monitored SSH access point: an auto scaling group of exactly one instance
// (replaced automatically when it fails) in the public subnets, reachable only on SSH from the admin CIDRs
// (enforced by the firewall's bastion group), key-only sshd that may forward only to the VPC, a fixed Elastic
// IP it claims at boot, and its sessions logged to CloudWatch with a metric of logins.
package bastion

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
	"github.com/plinth-dev/plinth/components/tier"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:bastion:Bastion"

// MetricNamespace holds the bastion's login metrics.
const MetricNamespace = "plinth/bastion"

// Args configure a Bastion.
type Args struct {
	Region           string
	AccountID        pulumi.StringInput
	PublicSubnetIDs  pulumi.StringArrayInput
	SecurityGroupID  pulumi.StringInput
	InstanceType     string
	SSHUser          string
	ParameterPath    string
	LogRetentionDays int
	Tags             pulumi.StringMap
}

// Bastion is the access point.
type Bastion struct {
	pulumi.ResourceState

	Address      pulumi.StringOutput
	ASGName      pulumi.StringOutput
	LogGroupName pulumi.StringOutput
}

// New builds the bastion.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Bastion, error) {
	if args == nil {
		return nil, fmt.Errorf("bastion %s: args are required", name)
	}
	b := &Bastion{}
	if err := ctx.RegisterComponentResource(TypeToken, name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	bTags := tags.Merge(args.Tags, map[string]string{"plinth:tier": "bastion"})

	eip, err := ec2.NewEip(ctx, name+"-eip", &ec2.EipArgs{
		Domain: pulumi.String("vpc"),
		Tags:   tags.Named(bTags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	b.Address = eip.PublicIp

	// The instance may attach only this address, only to instances tagged as the bastion.
	extraPolicy := pulumi.All(eip.AllocationId, args.AccountID).ApplyT(func(v []any) (string, error) {
		alloc, acct := v[0].(string), v[1].(string)
		return iampolicy.Document(
			iampolicy.Allow([]string{"ec2:AssociateAddress"}, fmt.Sprintf("arn:aws:ec2:%s:%s:elastic-ip/%s", args.Region, acct, alloc)),
			iampolicy.Statement{Effect: "Allow", Action: []string{"ec2:AssociateAddress"},
				Resource:  []string{fmt.Sprintf("arn:aws:ec2:%s:%s:instance/*", args.Region, acct)},
				Condition: map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/plinth:tier": "bastion"}}},
		)
	}).(pulumi.StringOutput)
	extraUserData := eip.AllocationId.ApplyT(func(alloc string) string {
		// sshd's forwarding (only to SSH and MySQL) is rendered by components/userdata with the rest of its config.
		return fmt.Sprintf(`# bastion: claim the fixed address
TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
IID=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
aws --region %s ec2 associate-address --allocation-id %s --instance-id "$IID" --allow-reassociation
install -d -o %s -g %s -m 0750 /var/lib/plinth
`, args.Region, alloc, args.SSHUser, args.SSHUser)
	}).(pulumi.StringOutput)

	t, err := tier.New(ctx, name, &tier.Args{
		Tier: "bastion", Region: args.Region, AccountID: args.AccountID,
		SubnetIDs: args.PublicSubnetIDs, SecurityGroupID: args.SecurityGroupID,
		InstanceType: args.InstanceType, Min: 1, Desired: 1, Max: 1, RootVolumeGiB: 16,
		SSHUser: args.SSHUser, ParameterPath: args.ParameterPath, LogRetentionDays: args.LogRetentionDays,
		ExtraUserData: extraUserData, AllowTCPForwarding: true, ExtraPolicy: extraPolicy, Tags: bTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	b.ASGName, b.LogGroupName = t.ASGName, t.LogGroupName
	if err := metricFilters(ctx, name, t.LogGroupName, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"address":  b.Address,
		"asgName":  b.ASGName,
		"logGroup": b.LogGroupName,
	}); err != nil {
		return nil, fmt.Errorf("bastion %s: register outputs: %w", name, err)
	}
	return b, nil
}

func metricFilters(ctx *pulumi.Context, name string, logGroup pulumi.StringInput, parent pulumi.ResourceOption) error {
	for _, f := range []struct{ suffix, pattern, metric string }{
		{"logins", `"Accepted publickey"`, "SuccessfulLogins"},
		{"failed-logins", `?"Connection closed by authenticating user" ?"Invalid user" ?"Failed publickey"`, "FailedLogins"},
	} {
		if _, err := cloudwatch.NewLogMetricFilter(ctx, name+"-"+f.suffix, &cloudwatch.LogMetricFilterArgs{
			LogGroupName: logGroup,
			Pattern:      pulumi.String(f.pattern),
			MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
				Name: pulumi.String(f.metric), Namespace: pulumi.String(MetricNamespace), Value: pulumi.String("1"),
			},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}
