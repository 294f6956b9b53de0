// Package network is the VPC component: public, private and data subnets in every AZ, internet and NAT
// gateways, route tables, encrypted flow logs, VPC endpoints for the AWS APIs the tiers use, and an emptied
// default security group.
package network

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it: state refers to it.
const TypeToken = "plinth:network:Network"

// InterfaceEndpoints are the AWS services the tiers reach privately: SSM Parameter Store (config and SSH
// keys; no Session Manager: the bastion is the only way in), KMS, CloudWatch Logs, Secrets Manager.
var InterfaceEndpoints = []string{"ssm", "kms", "logs", "secretsmanager"}

// Args configure a Network.
type Args struct {
	Region   string
	CIDR     string
	AZCount  int
	PerAZNAT bool // one NAT gateway per AZ; otherwise a single one in the first AZ
	// LogRetentionDays for the flow log group.
	LogRetentionDays int
	// AccountID owns the flow-log KMS key (key policy principal).
	AccountID pulumi.StringInput
	Tags      pulumi.StringMap
}

// Network is the VPC and its plumbing.
type Network struct {
	pulumi.ResourceState

	VpcID            pulumi.IDOutput
	CIDR             string
	AZs              []string
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
	DataSubnetIDs    pulumi.StringArrayOutput
	FlowLogGroupName pulumi.StringOutput
}

// New builds the network.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		return nil, fmt.Errorf("network %s: args are required", name)
	}
	vpcCIDR, err := netip.ParsePrefix(args.CIDR)
	if err != nil {
		return nil, fmt.Errorf("network %s: cidr %q: %w", name, args.CIDR, err)
	}
	if args.AZCount < 1 || args.AZCount > MaxAZs {
		return nil, fmt.Errorf("network %s: azCount %d: want 1..%d", name, args.AZCount, MaxAZs)
	}
	n := &Network{CIDR: args.CIDR, AZs: AZNames(args.Region, args.AZCount)}
	if err := ctx.RegisterComponentResource(TypeToken, name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	tag := func(extra map[string]string) pulumi.StringMap { return tags.Merge(args.Tags, extra) }

	vpc, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.CIDR),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tag(map[string]string{"Name": name}),
	}, parent)
	if err != nil {
		return nil, err
	}
	n.VpcID = vpc.ID()

	// The default security group allows all traffic between its members: strip every rule from it.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId:   vpc.ID(),
		Ingress: ec2.DefaultSecurityGroupIngressArray{},
		Egress:  ec2.DefaultSecurityGroupEgressArray{},
		Tags:    tag(map[string]string{"Name": name + "-default-emptied"}),
	}, parent); err != nil {
		return nil, err
	}

	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  tag(map[string]string{"Name": name}),
	}, parent)
	if err != nil {
		return nil, err
	}

	subnets := map[SubnetClass][]*ec2.Subnet{}
	for _, class := range []SubnetClass{Public, Private, Data} {
		for i, az := range n.AZs {
			cidr, err := SubnetCIDR(vpcCIDR, class, i)
			if err != nil {
				return nil, fmt.Errorf("network %s: %w", name, err)
			}
			sn, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-%s-%s", name, class, az), &ec2.SubnetArgs{
				VpcId:               vpc.ID(),
				CidrBlock:           pulumi.String(cidr.String()),
				AvailabilityZone:    pulumi.String(az),
				MapPublicIpOnLaunch: pulumi.Bool(false),
				Tags:                tag(map[string]string{"Name": fmt.Sprintf("%s-%s-%s", name, class, az), "plinth:subnet-class": class.String()}),
			}, parent)
			if err != nil {
				return nil, err
			}
			subnets[class] = append(subnets[class], sn)
		}
	}

	// Public route table: default route to the internet gateway.
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public-rt", &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   tag(map[string]string{"Name": name + "-public"}),
	}, parent)
	if err != nil {
		return nil, err
	}
	for i, sn := range subnets[Public] {
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-public-rta-%s", name, n.AZs[i]), &ec2.RouteTableAssociationArgs{
			SubnetId: sn.ID(), RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
	}

	// NAT gateways: per AZ (an AZ outage takes only its own egress) or a single one.
	natCount := 1
	if args.PerAZNAT {
		natCount = args.AZCount
	}
	var nats []*ec2.NatGateway
	for i := 0; i < natCount; i++ {
		az := n.AZs[i]
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-nat-eip-%s", name, az), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   tag(map[string]string{"Name": fmt.Sprintf("%s-nat-%s", name, az)}),
		}, parent)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("%s-nat-%s", name, az), &ec2.NatGatewayArgs{
			AllocationId: eip.AllocationId,
			SubnetId:     subnets[Public][i].ID(),
			Tags:         tag(map[string]string{"Name": fmt.Sprintf("%s-nat-%s", name, az)}),
		}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
		nats = append(nats, nat)
	}

	// Private route tables, one per AZ, default route through that AZ's NAT (or the single one). Data
	// subnets get route tables with no default route: the data tier never reaches the internet.
	var privateRTs, dataRTs pulumi.StringArray
	for i, az := range n.AZs {
		nat := nats[0]
		if args.PerAZNAT {
			nat = nats[i]
		}
		rt, err := ec2.NewRouteTable(ctx, fmt.Sprintf("%s-private-rt-%s", name, az), &ec2.RouteTableArgs{
			VpcId:  vpc.ID(),
			Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()}},
			Tags:   tag(map[string]string{"Name": fmt.Sprintf("%s-private-%s", name, az)}),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-private-rta-%s", name, az), &ec2.RouteTableAssociationArgs{
			SubnetId: subnets[Private][i].ID(), RouteTableId: rt.ID(),
		}, parent); err != nil {
			return nil, err
		}
		privateRTs = append(privateRTs, rt.ID().ToStringOutput())
		drt, err := ec2.NewRouteTable(ctx, fmt.Sprintf("%s-data-rt-%s", name, az), &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  tag(map[string]string{"Name": fmt.Sprintf("%s-data-%s", name, az)}),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-data-rta-%s", name, az), &ec2.RouteTableAssociationArgs{
			SubnetId: subnets[Data][i].ID(), RouteTableId: drt.ID(),
		}, parent); err != nil {
			return nil, err
		}
		dataRTs = append(dataRTs, drt.ID().ToStringOutput())
	}

	// Flow logs of all traffic to a KMS-encrypted log group.
	logKey, err := kms.NewKey(ctx, name+"-flowlogs-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s VPC flow logs", name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy: iampolicy.KeyPolicy(args.AccountID, func(acct string) []iampolicy.Statement {
			return []iampolicy.Statement{{Sid: "CloudWatchLogs", Effect: "Allow",
				Principal: map[string]any{"Service": "logs." + args.Region + ".amazonaws.com"},
				Action:    iampolicy.KeyUse, Resource: []string{"*"},
				Condition: map[string]any{"ArnLike": map[string]any{
					"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:" + args.Region + ":" + acct + ":*"}}}}
		}),
		Tags: tag(nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-flowlogs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		KmsKeyId:        logKey.Arn,
		Tags:            tag(nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	n.FlowLogGroupName = logGroup.Name
	role, err := iam.NewRole(ctx, name+"-flowlogs-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com")),
		Tags:             tag(nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flowlogs-policy", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: logGroup.Arn.ApplyT(func(arn string) (string, error) {
			return iampolicy.Document(iampolicy.Allow(
				[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, arn, arn+":*"))
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := ec2.NewFlowLog(ctx, name+"-flowlog", &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     logGroup.Arn,
		IamRoleArn:         role.Arn,
		Tags:               tag(nil),
	}, parent); err != nil {
		return nil, err
	}

	// S3 gateway endpoint on the private and data route tables; interface endpoints in the private subnets.
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3-endpoint", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.Sprintf("com.amazonaws.%s.s3", args.Region),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   append(append(pulumi.StringArray{}, privateRTs...), dataRTs...),
		Tags:            tag(nil),
	}, parent); err != nil {
		return nil, err
	}
	endpointSG, err := ec2.NewSecurityGroup(ctx, name+"-endpoints-sg", &ec2.SecurityGroupArgs{
		VpcId:       vpc.ID(),
		Description: pulumi.String("HTTPS from inside the VPC to the AWS API interface endpoints"),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			CidrBlocks: pulumi.StringArray{pulumi.String(args.CIDR)}, Description: pulumi.String("VPC to endpoints"),
		}},
		Egress:              ec2.SecurityGroupEgressArray{},
		RevokeRulesOnDelete: pulumi.Bool(true),
		Tags:                tag(map[string]string{"Name": name + "-endpoints"}),
	}, parent)
	if err != nil {
		return nil, err
	}
	var privateIDs pulumi.StringArray
	for _, sn := range subnets[Private] {
		privateIDs = append(privateIDs, sn.ID().ToStringOutput())
	}
	for _, svc := range InterfaceEndpoints {
		if _, err := ec2.NewVpcEndpoint(ctx, fmt.Sprintf("%s-%s-endpoint", name, svc), &ec2.VpcEndpointArgs{
			VpcId:             vpc.ID(),
			ServiceName:       pulumi.Sprintf("com.amazonaws.%s.%s", args.Region, svc),
			VpcEndpointType:   pulumi.String("Interface"),
			PrivateDnsEnabled: pulumi.Bool(true),
			SubnetIds:         privateIDs,
			SecurityGroupIds:  pulumi.StringArray{endpointSG.ID().ToStringOutput()},
			Tags:              tag(nil),
		}, parent); err != nil {
			return nil, err
		}
	}

	ids := func(list []*ec2.Subnet) pulumi.StringArrayOutput {
		var arr pulumi.StringArray
		for _, sn := range list {
			arr = append(arr, sn.ID().ToStringOutput())
		}
		return arr.ToStringArrayOutput()
	}
	n.PublicSubnetIDs = ids(subnets[Public])
	n.PrivateSubnetIDs = ids(subnets[Private])
	n.DataSubnetIDs = ids(subnets[Data])
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":            n.VpcID,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"dataSubnetIds":    n.DataSubnetIDs,
		"flowLogGroup":     n.FlowLogGroupName,
	}); err != nil {
		return nil, fmt.Errorf("network %s: register outputs: %w", name, err)
	}
	return n, nil
}
