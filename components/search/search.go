// Package search is the OpenSearch (Elasticsearch-compatible) domain: in the data subnets, zone-aware across
// AZs, dedicated masters when asked, encrypted at rest with a customer key and node to node, HTTPS only with
// TLS >= 1.2, reachable only through its security group (app and worker) and only by the roles allowed.
package search

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/opensearch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:search:Search"

// TLSPolicy is the domain endpoint's TLS policy: TLS 1.2+ with forward secrecy.
const TLSPolicy = "Policy-Min-TLS-1-2-PFS-2023-10"

// Args configure a Search domain.
type Args struct {
	AccountID          pulumi.StringInput
	Region             string
	SubnetIDs          pulumi.StringArrayInput // one per AZ, in AZ order
	AZCount            int
	SecurityGroupID    pulumi.StringInput
	EngineVersion      string
	InstanceType       string
	InstanceCount      int
	DedicatedMasters   bool
	MasterInstanceType string
	VolumeGiB          int
	SnapshotHourUTC    int
	LogRetentionDays   int
	// ClientRoleARNs may call the domain's HTTP API (the app and worker instance roles).
	ClientRoleARNs pulumi.StringArrayInput
	Tags           pulumi.StringMap
}

// Search is the domain.
type Search struct {
	pulumi.ResourceState

	Endpoint  pulumi.StringOutput
	DomainARN pulumi.StringOutput
}

// ZoneCount is how many AZs the data nodes spread over: 1 for a single node, else 2 or 3.
func ZoneCount(instances, azs int) int {
	switch {
	case instances < 2 || azs < 2:
		return 1
	case instances >= 3 && azs >= 3:
		return 3
	}
	return 2
}

// New builds the domain.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Search, error) {
	switch {
	case args == nil:
		return nil, fmt.Errorf("search %s: args are required", name)
	case args.InstanceCount < 1:
		return nil, fmt.Errorf("search %s: instance count %d: want at least 1", name, args.InstanceCount)
	case args.DedicatedMasters && args.MasterInstanceType == "":
		return nil, fmt.Errorf("search %s: dedicated masters need a master instance type", name)
	}
	s := &Search{}
	if err := ctx.RegisterComponentResource(TypeToken, name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	t := tags.Merge(args.Tags, map[string]string{"plinth:tier": "search"})
	zones := ZoneCount(args.InstanceCount, args.AZCount)

	key, err := kms.NewKey(ctx, name+"-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s: OpenSearch data at rest and logs", name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy: iampolicy.KeyPolicy(args.AccountID, func(acct string) []iampolicy.Statement {
			return []iampolicy.Statement{
				{Sid: "OpenSearchInAccount", Effect: "Allow", Principal: map[string]any{"AWS": "*"},
					Action: append(append([]string{}, iampolicy.KeyUse...), "kms:CreateGrant"), Resource: []string{"*"},
					Condition: map[string]any{"StringEquals": map[string]any{"kms:CallerAccount": acct, "kms:ViaService": "es." + args.Region + ".amazonaws.com"}}},
				{Sid: "CloudWatchLogs", Effect: "Allow", Principal: map[string]any{"Service": "logs." + args.Region + ".amazonaws.com"},
					Action: iampolicy.KeyUse, Resource: []string{"*"}},
			}
		}),
		Tags: t,
	}, parent)
	if err != nil {
		return nil, err
	}
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(args.LogRetentionDays), KmsKeyId: key.Arn, Tags: t,
	}, parent)
	if err != nil {
		return nil, err
	}
	logPolicy, err := cloudwatch.NewLogResourcePolicy(ctx, name+"-logs-policy", &cloudwatch.LogResourcePolicyArgs{
		PolicyName: pulumi.String(name + "-opensearch-logs"),
		PolicyDocument: logs.Arn.ApplyT(func(arn string) (string, error) {
			return iampolicy.Document(iampolicy.Statement{Effect: "Allow",
				Principal: map[string]any{"Service": "es.amazonaws.com"},
				Action:    []string{"logs:PutLogEvents", "logs:CreateLogStream"}, Resource: []string{arn + ":*"}})
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}

	cluster := &opensearch.DomainClusterConfigArgs{
		InstanceType:         pulumi.String(args.InstanceType),
		InstanceCount:        pulumi.Int(args.InstanceCount),
		ZoneAwarenessEnabled: pulumi.Bool(zones > 1),
	}
	if zones > 1 {
		cluster.ZoneAwarenessConfig = &opensearch.DomainClusterConfigZoneAwarenessConfigArgs{AvailabilityZoneCount: pulumi.Int(zones)}
	}
	if args.DedicatedMasters {
		cluster.DedicatedMasterEnabled = pulumi.Bool(true)
		cluster.DedicatedMasterType = pulumi.String(args.MasterInstanceType)
		cluster.DedicatedMasterCount = pulumi.Int(3)
	}
	subnets := args.SubnetIDs.ToStringArrayOutput().ApplyT(func(ids []string) []string {
		if len(ids) > zones {
			return ids[:zones]
		}
		return ids
	}).(pulumi.StringArrayOutput)

	domainName := name + "-search"
	if len(domainName) > 28 {
		domainName = domainName[:28]
	}
	domain, err := opensearch.NewDomain(ctx, name+"-domain", &opensearch.DomainArgs{
		DomainName:    pulumi.String(domainName),
		EngineVersion: pulumi.String(args.EngineVersion),
		ClusterConfig: cluster,
		EbsOptions: &opensearch.DomainEbsOptionsArgs{
			EbsEnabled: pulumi.Bool(true), VolumeSize: pulumi.Int(args.VolumeGiB), VolumeType: pulumi.String("gp3"),
		},
		EncryptAtRest:        &opensearch.DomainEncryptAtRestArgs{Enabled: pulumi.Bool(true), KmsKeyId: key.Arn},
		NodeToNodeEncryption: &opensearch.DomainNodeToNodeEncryptionArgs{Enabled: pulumi.Bool(true)},
		DomainEndpointOptions: &opensearch.DomainDomainEndpointOptionsArgs{
			EnforceHttps: pulumi.Bool(true), TlsSecurityPolicy: pulumi.String(TLSPolicy),
		},
		VpcOptions: &opensearch.DomainVpcOptionsArgs{
			SubnetIds: subnets, SecurityGroupIds: pulumi.StringArray{args.SecurityGroupID},
		},
		SnapshotOptions: &opensearch.DomainSnapshotOptionsArgs{AutomatedSnapshotStartHour: pulumi.Int(args.SnapshotHourUTC)},
		AccessPolicies: pulumi.All(args.ClientRoleARNs, args.AccountID).ApplyT(func(v []any) (string, error) {
			roles, acct := v[0].([]string), v[1].(string)
			return iampolicy.Document(iampolicy.Statement{Effect: "Allow",
				Principal: map[string]any{"AWS": roles},
				Action:    []string{"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"},
				Resource:  []string{fmt.Sprintf("arn:aws:es:%s:%s:domain/%s/*", args.Region, acct, domainName)}})
		}).(pulumi.StringOutput),
		LogPublishingOptions: opensearch.DomainLogPublishingOptionArray{
			opensearch.DomainLogPublishingOptionArgs{LogType: pulumi.String("ES_APPLICATION_LOGS"), CloudwatchLogGroupArn: logs.Arn},
			opensearch.DomainLogPublishingOptionArgs{LogType: pulumi.String("INDEX_SLOW_LOGS"), CloudwatchLogGroupArn: logs.Arn},
		},
		Tags: tags.Named(t, name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{logPolicy}))
	if err != nil {
		return nil, err
	}
	s.Endpoint, s.DomainARN = domain.Endpoint, domain.Arn
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"endpoint": s.Endpoint, "arn": s.DomainARN}); err != nil {
		return nil, fmt.Errorf("search %s: register outputs: %w", name, err)
	}
	return s, nil
}
