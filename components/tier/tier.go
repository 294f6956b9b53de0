// Package tier is an auto-scaled compute tier (app, worker, sftp; the bastion builds on it): a launch template
// with IMDSv2 required, an encrypted root volume under the tier's own KMS key, no public IP, the tier's
// security group and a least-privilege instance profile, and an auto scaling group across every AZ's subnet
// with rolling, launch-before-terminate instance refresh.
package tier

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
	"github.com/plinth-dev/plinth/components/userdata"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:tier:Tier"

// DefaultImage resolves the latest Amazon Linux 2023 AMI at launch, without a provider lookup.
const DefaultImage = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

// Args configure a Tier.
type Args struct {
	Tier            string // app, worker, sftp, bastion
	Region          string
	AccountID       pulumi.StringInput
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	InstanceType    string
	Min, Desired    int
	Max             int
	RootVolumeGiB   int
	// ImageID defaults to DefaultImage.
	ImageID string
	// TargetGroupARNs register the instances behind the load balancer (app).
	TargetGroupARNs pulumi.StringArrayInput
	SSHUser         string
	// ParameterPath is the SSM path the tier may read (its config and the authorized keys), e.g. /plinth/production.
	ParameterPath    string
	LogRetentionDays int
	// ExtraUserData, when set, runs after the common boot script.
	ExtraUserData pulumi.StringInput
	// AllowTCPForwarding is for the bastion only.
	AllowTCPForwarding bool
	// ServicePort, when set, installs the tier's service unit listening on it (see UserDataInput).
	ServicePort int
	// Data, when set (the app tier), names the data tier in the service's environment (UserDataInput.Data)
	// and lets the instance role read the database secret it names (the cache token's is granted by the
	// utility component).
	Data pulumix.Input[userdata.Data]
	// ExtraPolicy, when set, is an extra inline policy document for the instance role (e.g. the bastion's EIP).
	ExtraPolicy pulumi.StringInput
	// Backup, when set, installs the scheduled backup and binlog streamer (worker tier; see UserDataInput)
	// and lets the role read the backup user's secret.
	Backup *userdata.Backup
	Tags   pulumi.StringMap
}

// Tier is the auto scaling group and what it launches.
type Tier struct {
	pulumi.ResourceState

	ASGName      pulumi.StringOutput
	RoleARN      pulumi.StringOutput
	RoleName     pulumi.StringOutput
	KeyARN       pulumi.StringOutput
	LogGroupName pulumi.StringOutput
}

// New builds the tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Tier, error) {
	if err := check(name, args); err != nil {
		return nil, err
	}
	t := &Tier{}
	if err := ctx.RegisterComponentResource(TypeToken, name, t, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(t)
	tierTags := tags.Merge(args.Tags, map[string]string{"plinth:tier": args.Tier})

	// The tier's own key: EBS volumes (used by the Auto Scaling service-linked role) and its log group.
	key, err := kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s: EBS volumes and logs", name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy: iampolicy.KeyPolicy(args.AccountID, func(acct string) []iampolicy.Statement {
			asg := "arn:aws:iam::" + acct + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
			return []iampolicy.Statement{
				{Sid: "AutoScalingVolumes", Effect: "Allow", Principal: map[string]any{"AWS": asg},
					Action: iampolicy.KeyUse, Resource: []string{"*"}},
				{Sid: "AutoScalingGrants", Effect: "Allow", Principal: map[string]any{"AWS": asg},
					Action: []string{"kms:CreateGrant"}, Resource: []string{"*"},
					Condition: map[string]any{"Bool": map[string]any{"kms:GrantIsForAWSResource": true}}},
				{Sid: "CloudWatchLogs", Effect: "Allow", Principal: map[string]any{"Service": "logs." + args.Region + ".amazonaws.com"},
					Action: iampolicy.KeyUse, Resource: []string{"*"}},
			}
		}),
		Tags: tierTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	t.KeyARN = key.Arn

	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		KmsKeyId:        key.Arn,
		Tags:            tierTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	t.LogGroupName = logGroup.Name

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(iampolicy.AssumeRole("ec2.amazonaws.com")),
		Description:      pulumi.Sprintf("plinth %s instances", args.Tier),
		Tags:             tierTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	t.RoleARN, t.RoleName = role.Arn, role.Name
	var data pulumix.Output[userdata.Data] = pulumix.Val(userdata.Data{}) // the zero Data: none
	if args.Data != nil {
		data = args.Data.ToOutput(ctx.Context())
	}
	// Least privilege: write its own logs and metrics, read its own parameters. No SSM sessions: SSH through
	// the bastion is the only way in.
	if _, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: pulumi.All(logGroup.Arn, args.AccountID, data).ApplyT(func(v []any) (string, error) {
			logArn, acct := v[0].(string), v[1].(string)
			st := []iampolicy.Statement{
				iampolicy.Allow([]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, logArn, logArn+":*"),
				{Effect: "Allow", Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
					Condition: map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": "CWAgent"}}},
				iampolicy.Allow([]string{"ssm:GetParameter", "ssm:GetParametersByPath"},
					fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s/*", args.Region, acct, args.ParameterPath)),
			}
			st = append(st, backupStatements(args, acct)...)
			if d := v[2].(userdata.Data); d != (userdata.Data{}) {
				st = append(st, iampolicy.Allow([]string{"secretsmanager:GetSecretValue"}, secretARN(args.Region, acct, d.DBSecretID)))
			}
			return iampolicy.Document(st...)
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}
	if args.ExtraPolicy != nil {
		if _, err := iam.NewRolePolicy(ctx, name+"-extra-policy", &iam.RolePolicyArgs{
			Role: role.ID(), Policy: args.ExtraPolicy,
		}, parent); err != nil {
			return nil, err
		}
	}
	profile, err := iam.NewInstanceProfile(ctx, name+"-profile", &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: tierTags,
	}, parent)
	if err != nil {
		return nil, err
	}

	var extraUserData pulumi.StringInput = pulumi.String("")
	if args.ExtraUserData != nil {
		extraUserData = args.ExtraUserData
	}
	image := args.ImageID
	if image == "" {
		image = DefaultImage
	}
	lt, err := ec2.NewLaunchTemplate(ctx, name+"-lt", &ec2.LaunchTemplateArgs{
		Description:          pulumi.Sprintf("plinth %s", args.Tier),
		ImageId:              pulumi.String(image),
		InstanceType:         pulumi.String(args.InstanceType),
		UpdateDefaultVersion: pulumi.Bool(true),
		IamInstanceProfile:   &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"), // IMDSv2 only
			HttpPutResponseHopLimit: pulumi.Int(1),
			InstanceMetadataTags:    pulumi.String("enabled"),
		},
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{ec2.LaunchTemplateNetworkInterfaceArgs{
			DeviceIndex:              pulumi.Int(0),
			AssociatePublicIpAddress: pulumi.String("false"),
			DeleteOnTermination:      pulumi.String("true"),
			SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		}},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				Encrypted:           pulumi.String("true"),
				KmsKeyId:            key.Arn,
				VolumeSize:          pulumi.Int(args.RootVolumeGiB),
				VolumeType:          pulumi.String("gp3"),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		Monitoring: &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		UserData: pulumi.All(logGroup.Name, extraUserData, data).ApplyT(func(v []any) (string, error) {
			in := UserDataInput{
				Tier: args.Tier, SSHUser: args.SSHUser, AuthorizedKeysParameter: args.ParameterPath + "/ssh/authorized_keys",
				Region: args.Region, LogGroup: v[0].(string), AllowTCPForwarding: args.AllowTCPForwarding,
				ServicePort: args.ServicePort, Backup: args.Backup, Extra: v[1].(string),
			}
			if d := v[2].(userdata.Data); d != (userdata.Data{}) {
				in.Data = &d
			}
			script, err := UserData(in)
			return base64.StdEncoding.EncodeToString([]byte(script)), err
		}).(pulumi.StringOutput),
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: tierTags},
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: tierTags},
		},
		Tags: tierTags,
	}, parent)
	if err != nil {
		return nil, err
	}

	healthCheck := "EC2"
	if args.TargetGroupARNs != nil {
		healthCheck = "ELB"
	}
	asg, err := autoscaling.NewGroup(ctx, name+"-asg", &autoscaling.GroupArgs{
		VpcZoneIdentifiers: args.SubnetIDs,
		MinSize:            pulumi.Int(args.Min),
		MaxSize:            pulumi.Int(args.Max),
		DesiredCapacity:    pulumi.Int(args.Desired),
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput),
		},
		TargetGroupArns:        args.TargetGroupARNs,
		HealthCheckType:        pulumi.String(healthCheck),
		HealthCheckGracePeriod: pulumi.Int(120),
		DefaultInstanceWarmup:  pulumi.Int(60),
		CapacityRebalance:      pulumi.Bool(true),
		EnabledMetrics:         pulumi.ToStringArray([]string{"GroupInServiceInstances", "GroupDesiredCapacity", "GroupMinSize"}),
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				MinHealthyPercentage: pulumi.Int(100), // launch before terminate: capacity never drops
				MaxHealthyPercentage: pulumi.Int(200),
				InstanceWarmup:       pulumi.String("60"),
				AutoRollback:         pulumi.Bool(true),
			},
		},
		Tags: asgTags(tierTags),
	}, parent)
	if err != nil {
		return nil, err
	}
	t.ASGName = asg.Name

	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{
		"asgName":  t.ASGName,
		"roleArn":  t.RoleARN,
		"keyArn":   t.KeyARN,
		"logGroup": t.LogGroupName,
	}); err != nil {
		return nil, fmt.Errorf("tier %s: register outputs: %w", name, err)
	}
	return t, nil
}

func check(name string, a *Args) error {
	switch {
	case a == nil:
		return fmt.Errorf("tier %s: args are required", name)
	case a.Tier == "" || a.InstanceType == "" || a.SSHUser == "" || a.ParameterPath == "":
		return fmt.Errorf("tier %s: tier, instance type, ssh user and parameter path are required", name)
	case a.Min < 1 || a.Min > a.Desired || a.Desired > a.Max:
		return fmt.Errorf("tier %s: want 1 <= min <= desired <= max, got %d/%d/%d", name, a.Min, a.Desired, a.Max)
	case a.RootVolumeGiB < 8:
		return fmt.Errorf("tier %s: root volume %d GiB: want at least 8", name, a.RootVolumeGiB)
	}
	return nil
}

// secretARN is the ARN pattern of a secret named id (Secrets Manager appends "-" and six characters), or id
// when it is an ARN already.
func secretARN(region, account, id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-??????", region, account, id)
}

// asgTags turns resource tags into ASG tags propagated to the instances.
func asgTags(m pulumi.StringMap) autoscaling.GroupTagArray {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := autoscaling.GroupTagArray{}
	for _, k := range keys {
		out = append(out, autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: m[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	return out
}
