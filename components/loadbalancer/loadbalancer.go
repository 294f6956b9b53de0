// Package loadbalancer is the public entry point: an internet-facing ALB in the public subnets with an HTTPS
// listener (TLS >= 1.2), an HTTP listener that only redirects to HTTPS, invalid header fields dropped, access
// logs to an encrypted, private bucket, and the app target group.
package loadbalancer

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:loadbalancer:LoadBalancer"

// TLSPolicy is the HTTPS listener's security policy: TLS 1.3 and 1.2 only.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// Args configure a LoadBalancer.
type Args struct {
	Region             string
	VpcID              pulumi.StringInput
	PublicSubnetIDs    pulumi.StringArrayInput
	SecurityGroupID    pulumi.StringInput
	CertificateARN     string
	AppPort            int
	HealthCheckPath    string
	DeletionProtection bool
	LogRetentionDays   int
	Tags               pulumi.StringMap
}

// LoadBalancer is the ALB and its app target group.
type LoadBalancer struct {
	pulumi.ResourceState

	ARN                  pulumi.StringOutput
	ARNSuffix            pulumi.StringOutput
	DNSName              pulumi.StringOutput
	AppTargetGroupARN    pulumi.StringOutput
	AppTargetGroupSuffix pulumi.StringOutput
	LogBucket            pulumi.StringOutput
}

// New builds the load balancer.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*LoadBalancer, error) {
	if args == nil {
		return nil, fmt.Errorf("loadbalancer %s: args are required", name)
	}
	if args.CertificateARN == "" {
		return nil, fmt.Errorf("loadbalancer %s: a certificate ARN is required for the HTTPS listener", name)
	}
	l := &LoadBalancer{}
	if err := ctx.RegisterComponentResource(TypeToken, name, l, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(l)

	bucket, err := logBucket(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	l.LogBucket = bucket.Bucket

	alb, err := lb.NewLoadBalancer(ctx, name+"-alb", &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  args.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		DropInvalidHeaderFields:  pulumi.Bool(true),
		DesyncMitigationMode:     pulumi.String("strictest"),
		EnableDeletionProtection: pulumi.Bool(args.DeletionProtection),
		EnableHttp2:              pulumi.Bool(true),
		IdleTimeout:              pulumi.Int(60),
		AccessLogs: &lb.LoadBalancerAccessLogsArgs{
			Bucket:  bucket.Bucket,
			Enabled: pulumi.Bool(true),
			Prefix:  pulumi.String("alb"),
		},
		Tags: tags.Named(args.Tags, name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{bucket.policy}))
	if err != nil {
		return nil, err
	}
	l.ARN, l.ARNSuffix, l.DNSName = alb.Arn, alb.ArnSuffix, alb.DnsName

	healthPath := args.HealthCheckPath
	if healthPath == "" {
		healthPath = "/health"
	}
	tg, err := lb.NewTargetGroup(ctx, name+"-app-tg", &lb.TargetGroupArgs{
		VpcId:               args.VpcID,
		Port:                pulumi.Int(args.AppPort),
		Protocol:            pulumi.String("HTTPS"), // encrypted to the instances too
		TargetType:          pulumi.String("instance"),
		DeregistrationDelay: pulumi.Int(30),
		SlowStart:           pulumi.Int(30),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String("HTTPS"),
			Path:               pulumi.String(healthPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(10),
			Timeout:            pulumi.Int(5),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(2),
		},
		Tags: tags.Named(args.Tags, name+"-app"),
	}, parent)
	if err != nil {
		return nil, err
	}
	l.AppTargetGroupARN, l.AppTargetGroupSuffix = tg.Arn, tg.ArnSuffix

	if _, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(TLSPolicy),
		CertificateArn:  pulumi.String(args.CertificateARN),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("forward"), TargetGroupArn: tg.Arn,
		}},
		Tags: args.Tags,
	}, parent); err != nil {
		return nil, err
	}
	if _, err := lb.NewListener(ctx, name+"-http-redirect", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Port: pulumi.String("443"), Protocol: pulumi.String("HTTPS"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: args.Tags,
	}, parent); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(l, pulumi.Map{
		"arn":               l.ARN,
		"dnsName":           l.DNSName,
		"appTargetGroupArn": l.AppTargetGroupARN,
		"logBucket":         l.LogBucket,
	}); err != nil {
		return nil, fmt.Errorf("loadbalancer %s: register outputs: %w", name, err)
	}
	return l, nil
}

type bucketResult struct {
	*s3.BucketV2
	policy *s3.BucketPolicy
}

// elbAccounts are the regional Elastic Load Balancing accounts that deliver access logs (regions opened
// before August 2022); newer regions use the log-delivery service principal.
var elbAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-central-1": "054676820928",
	"eu-north-1": "897822967062", "eu-south-1": "635631232127", "ap-southeast-1": "114774131450",
	"ap-southeast-2": "783225319266", "ap-northeast-1": "582318560864", "ca-central-1": "985666609251",
}

// logBucket is the access-log bucket: SSE-S3 (the only encryption ALB log delivery supports), versioned,
// owner-enforced, no public access, TLS-only, expiring after the log retention.
func logBucket(ctx *pulumi.Context, name string, args *Args, parent pulumi.ResourceOption) (*bucketResult, error) {
	b, err := s3.NewBucketV2(ctx, name+"-logs", &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(!args.DeletionProtection),
		Tags:         tags.Named(args.Tags, name+"-access-logs"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name+"-logs-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-logs-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-logs-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketVersioningV2(ctx, name+"-logs-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  b.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-logs-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-access-logs"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
				Days: pulumi.Int(args.LogRetentionDays),
			},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(7),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	deliverer := map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
	if acct, ok := elbAccounts[args.Region]; ok {
		deliverer = map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"}
	}
	policy, err := s3.NewBucketPolicy(ctx, name+"-logs-policy", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: b.Arn.ApplyT(func(arn string) (string, error) {
			return iampolicy.Document(
				iampolicy.Statement{Sid: "ELBLogDelivery", Effect: "Allow", Principal: deliverer,
					Action: []string{"s3:PutObject"}, Resource: []string{arn + "/alb/AWSLogs/*"}},
				iampolicy.Statement{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: map[string]any{"AWS": "*"},
					Action: []string{"s3:*"}, Resource: []string{arn, arn + "/*"},
					Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
			)
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	return &bucketResult{BucketV2: b, policy: policy}, nil
}
