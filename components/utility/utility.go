// Package utility is the utility tier's managed parts: the cache (an ElastiCache Redis OSS replication group,
// multi-AZ with automatic failover when it has replicas, encrypted at rest and in transit, its auth token a
// generated Pulumi secret kept in Secrets Manager) and monitoring (an alarm topic and CloudWatch alarms for
// load balancer 5xx, unhealthy targets, replica lag, database and tier CPU, and failed bastion logins).
// SFTP is a compute tier (components/tier) wired by the stack.
package utility

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:utility:Utility"

// Cache sizes the replication group.
type Cache struct {
	NodeType      string
	EngineVersion string
	Nodes         int
}

// Thresholds of the alarms.
type Thresholds struct {
	CPUPercent        int
	ReplicaLagSeconds int
	ALB5xxPerFiveMins int
	FailedLogins      int
}

// DRAlarms watch the cross-region replica from its own region.
type DRAlarms struct {
	Provider  pulumi.ProviderResource
	ReplicaID pulumi.StringInput
}

// Args configure the utility tier.
type Args struct {
	AccountID       pulumi.StringInput
	Region          string
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	Cache           Cache
	// ClientRoleNames may read the cache auth token (app and worker instance roles).
	ClientRoleNames map[string]pulumi.StringInput

	AlarmEmail          string
	Thresholds          Thresholds
	LoadBalancerSuffix  pulumi.StringInput
	TargetGroupSuffix   pulumi.StringInput
	ASGNames            map[string]pulumi.StringInput
	PrimaryDBID         pulumi.StringInput
	ReplicaIDs          []pulumi.StringOutput
	DR                  *DRAlarms
	BastionMetricsSpace string
	Tags                pulumi.StringMap
}

// Utility is the cache and the monitoring.
type Utility struct {
	pulumi.ResourceState

	CachePrimaryEndpoint pulumi.StringOutput
	CacheReaderEndpoint  pulumi.StringOutput
	AuthTokenSecretARN   pulumi.StringOutput
	AlarmTopicARN        pulumi.StringOutput
	AlarmNames           []string
}

// New builds the utility tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Utility, error) {
	switch {
	case args == nil:
		return nil, fmt.Errorf("utility %s: args are required", name)
	case args.Cache.Nodes < 1 || args.Cache.Nodes > 6:
		return nil, fmt.Errorf("utility %s: cache nodes %d: want 1..6", name, args.Cache.Nodes)
	}
	u := &Utility{}
	if err := ctx.RegisterComponentResource(TypeToken, name, u, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(u)
	if err := u.cache(ctx, name, args, parent); err != nil {
		return nil, err
	}
	if err := u.monitoring(ctx, name, args, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(u, pulumi.Map{
		"cachePrimaryEndpoint": u.CachePrimaryEndpoint,
		"cacheReaderEndpoint":  u.CacheReaderEndpoint,
		"authTokenSecretArn":   u.AuthTokenSecretARN,
		"alarmTopicArn":        u.AlarmTopicARN,
	}); err != nil {
		return nil, fmt.Errorf("utility %s: register outputs: %w", name, err)
	}
	return u, nil
}

func (u *Utility) cache(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption) error {
	t := tags.Merge(args.Tags, map[string]string{"plinth:tier": "cache"})
	key, err := kms.NewKey(ctx, name+"-cache-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s: cache data at rest and its auth token secret", name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy: iampolicy.KeyPolicy(args.AccountID, func(acct string) []iampolicy.Statement {
			return []iampolicy.Statement{{Sid: "ServicesInAccount", Effect: "Allow", Principal: map[string]any{"AWS": "*"},
				Action: append(append([]string{}, iampolicy.KeyUse...), "kms:CreateGrant"), Resource: []string{"*"},
				Condition: map[string]any{"StringEquals": map[string]any{"kms:CallerAccount": acct},
					"StringLike": map[string]any{"kms:ViaService": []string{"elasticache.*.amazonaws.com", "secretsmanager.*.amazonaws.com"}}}}}
		}),
		Tags: t,
	}, parent)
	if err != nil {
		return err
	}
	// Generated once and kept in (encrypted) state: stable across runs, a secret everywhere it flows (the
	// SDK marks result secret). ElastiCache auth tokens allow only some printable characters: no specials.
	token, err := random.NewRandomPassword(ctx, name+"-cache-auth-token", &random.RandomPasswordArgs{
		Length:  pulumi.Int(64),
		Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return err
	}
	secretToken := pulumi.ToSecret(token.Result).(pulumi.StringOutput)
	secret, err := secretsmanager.NewSecret(ctx, name+"-cache-auth-token", &secretsmanager.SecretArgs{
		Description: pulumi.String("Redis AUTH token of the plinth cache"),
		KmsKeyId:    key.Arn,
		Tags:        t,
	}, parent)
	if err != nil {
		return err
	}
	if _, err := secretsmanager.NewSecretVersion(ctx, name+"-cache-auth-token", &secretsmanager.SecretVersionArgs{
		SecretId: secret.ID(), SecretString: secretToken,
	}, parent); err != nil {
		return err
	}
	u.AuthTokenSecretARN = secret.Arn
	roles := sortedKeys(args.ClientRoleNames)
	for _, tierName := range roles {
		if _, err := iam.NewRolePolicy(ctx, fmt.Sprintf("%s-cache-token-%s", name, tierName), &iam.RolePolicyArgs{
			Role: args.ClientRoleNames[tierName],
			Policy: pulumi.All(secret.Arn, key.Arn).ApplyT(func(v []any) (string, error) {
				return iampolicy.Document(
					iampolicy.Allow([]string{"secretsmanager:GetSecretValue"}, v[0].(string)),
					iampolicy.Statement{Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{v[1].(string)},
						Condition: map[string]any{"StringLike": map[string]any{"kms:ViaService": "secretsmanager.*.amazonaws.com"}}},
				)
			}).(pulumi.StringOutput),
		}, parent); err != nil {
			return err
		}
	}

	subnets, err := elasticache.NewSubnetGroup(ctx, name+"-cache-subnets", &elasticache.SubnetGroupArgs{
		SubnetIds: args.SubnetIDs, Description: pulumi.String("plinth data subnets"), Tags: t,
	}, parent)
	if err != nil {
		return err
	}
	replicated := args.Cache.Nodes > 1
	rg, err := elasticache.NewReplicationGroup(ctx, name+"-cache", &elasticache.ReplicationGroupArgs{
		Description:              pulumi.String("plinth cache"),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(args.Cache.EngineVersion),
		NodeType:                 pulumi.String(args.Cache.NodeType),
		NumCacheClusters:         pulumi.Int(args.Cache.Nodes),
		AutomaticFailoverEnabled: pulumi.Bool(replicated),
		MultiAzEnabled:           pulumi.Bool(replicated),
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 key.Arn,
		TransitEncryptionEnabled: pulumi.Bool(true),
		TransitEncryptionMode:    pulumi.String("required"),
		AuthToken:                secretToken,
		AuthTokenUpdateStrategy:  pulumi.String("ROTATE"),
		Port:                     pulumi.Int(6379),
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         pulumi.StringArray{args.SecurityGroupID},
		SnapshotRetentionLimit:   pulumi.Int(7),
		SnapshotWindow:           pulumi.String("01:00-02:00"),
		MaintenanceWindow:        pulumi.String("sun:04:30-sun:05:30"),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		Tags:                     tags.Named(t, name+"-cache"),
	}, parent)
	if err != nil {
		return err
	}
	u.CachePrimaryEndpoint, u.CacheReaderEndpoint = rg.PrimaryEndpointAddress, rg.ReaderEndpointAddress
	return nil
}

type alarm struct {
	suffix, namespace, metric, stat, comparison string
	threshold                                   float64
	periods                                     int
	dims                                        pulumi.StringMap
	missing                                     string
}

func (u *Utility) monitoring(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption) error {
	t := tags.Merge(args.Tags, map[string]string{"plinth:tier": "monitoring"})
	topic, err := sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		KmsMasterKeyId: pulumi.String("alias/aws/sns"),
		Tags:           t,
	}, parent)
	if err != nil {
		return err
	}
	u.AlarmTopicARN = topic.Arn
	if args.AlarmEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-alarms-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(args.AlarmEmail),
		}, parent); err != nil {
			return err
		}
	}
	th := args.Thresholds
	alarms := []alarm{
		{"alb-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", "GreaterThanThreshold", float64(th.ALB5xxPerFiveMins), 1,
			pulumi.StringMap{"LoadBalancer": args.LoadBalancerSuffix}, "notBreaching"},
		{"target-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", "GreaterThanThreshold", float64(th.ALB5xxPerFiveMins), 1,
			pulumi.StringMap{"LoadBalancer": args.LoadBalancerSuffix}, "notBreaching"},
		{"unhealthy-targets", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "GreaterThanOrEqualToThreshold", 1, 2,
			pulumi.StringMap{"LoadBalancer": args.LoadBalancerSuffix, "TargetGroup": args.TargetGroupSuffix}, "notBreaching"},
		{"db-cpu", "AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", float64(th.CPUPercent), 3,
			pulumi.StringMap{"DBInstanceIdentifier": args.PrimaryDBID}, "missing"},
	}
	for i, id := range args.ReplicaIDs {
		alarms = append(alarms, alarm{fmt.Sprintf("replica-%d-lag", i+1), "AWS/RDS", "ReplicaLag", "Maximum", "GreaterThanThreshold",
			float64(th.ReplicaLagSeconds), 3, pulumi.StringMap{"DBInstanceIdentifier": id}, "breaching"})
	}
	for _, tierName := range sortedKeys(args.ASGNames) {
		alarms = append(alarms, alarm{tierName + "-cpu", "AWS/EC2", "CPUUtilization", "Average", "GreaterThanThreshold",
			float64(th.CPUPercent), 3, pulumi.StringMap{"AutoScalingGroupName": args.ASGNames[tierName]}, "missing"})
	}
	if args.BastionMetricsSpace != "" {
		alarms = append(alarms, alarm{"bastion-failed-logins", args.BastionMetricsSpace, "FailedLogins", "Sum", "GreaterThanThreshold",
			float64(th.FailedLogins), 1, nil, "notBreaching"})
	}
	for _, a := range alarms {
		if err := newAlarm(ctx, name, a, topic.Arn, t, parent); err != nil {
			return err
		}
		u.AlarmNames = append(u.AlarmNames, a.suffix)
	}
	if args.DR != nil {
		inDR := pulumi.Provider(args.DR.Provider)
		drTopic, err := sns.NewTopic(ctx, name+"-dr-alarms", &sns.TopicArgs{KmsMasterKeyId: pulumi.String("alias/aws/sns"), Tags: t}, parent, inDR)
		if err != nil {
			return err
		}
		if args.AlarmEmail != "" {
			if _, err := sns.NewTopicSubscription(ctx, name+"-dr-alarms-email", &sns.TopicSubscriptionArgs{
				Topic: drTopic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(args.AlarmEmail),
			}, parent, inDR); err != nil {
				return err
			}
		}
		a := alarm{"dr-replica-lag", "AWS/RDS", "ReplicaLag", "Maximum", "GreaterThanThreshold", float64(th.ReplicaLagSeconds), 3,
			pulumi.StringMap{"DBInstanceIdentifier": args.DR.ReplicaID}, "breaching"}
		if err := newAlarm(ctx, name, a, drTopic.Arn, t, parent, inDR); err != nil {
			return err
		}
		u.AlarmNames = append(u.AlarmNames, a.suffix)
	}
	return nil
}

func newAlarm(ctx *pulumi.Context, name string, a alarm, topic pulumi.StringOutput, t pulumi.StringMap, opts ...pulumi.ResourceOption) error {
	_, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+a.suffix, &cloudwatch.MetricAlarmArgs{
		AlarmDescription:   pulumi.Sprintf("plinth %s", a.suffix),
		Namespace:          pulumi.String(a.namespace),
		MetricName:         pulumi.String(a.metric),
		Statistic:          pulumi.String(a.stat),
		ComparisonOperator: pulumi.String(a.comparison),
		Threshold:          pulumi.Float64(a.threshold),
		Period:             pulumi.Int(300),
		EvaluationPeriods:  pulumi.Int(a.periods),
		Dimensions:         a.dims,
		TreatMissingData:   pulumi.String(a.missing),
		AlarmActions:       pulumi.Array{topic},
		OkActions:          pulumi.Array{topic},
		Tags:               t,
	}, opts...)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
