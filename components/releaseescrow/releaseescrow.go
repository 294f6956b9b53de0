// Package releaseescrow is the release escrow: the S3 bucket, created by the program, that holds every
// artifact plinth deploys under its content-addressed key (artifacts/sha256/<sha256>). Pull staging puts
// the artifact there once and has each host fetch it (plinth deploy --staging pull); the DR drill reads
// production's release from it. Versioned (an artifact overwritten or deleted by mistake is recoverable for
// NoncurrentDays), encrypted at rest (SSE-S3: readers and presigned URLs need no KMS grant, and the DR region reads it
// without a key of its own), no public access,
// objects owned by the bucket owner, TLS only. The instance roles named as readers may GET objects under
// artifacts/ and nothing else: no listing, no writes, no other prefix.
package releaseescrow

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:releaseescrow:ReleaseEscrow"

// Prefix is where artifacts live in the bucket (deploy.StoreKey's keys are under it); readers may read
// only there.
const Prefix = "artifacts/"

// Args configure a ReleaseEscrow.
type Args struct {
	// Readers are the ARNs of the roles (the tiers' instance roles) that may read artifacts, by a stable
	// name (the tier): the policy lists them in name order.
	Readers map[string]pulumi.StringInput
	// NoncurrentDays keeps replaced or deleted artifact versions (default 30).
	NoncurrentDays int
	// Protect keeps the bucket from being deleted with the stack (production).
	Protect bool
	Tags    pulumi.StringMap
}

// ReleaseEscrow is the bucket.
type ReleaseEscrow struct {
	pulumi.ResourceState

	Bucket    pulumi.StringOutput
	BucketARN pulumi.StringOutput
	Region    pulumi.StringOutput
}

// New builds the escrow.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*ReleaseEscrow, error) {
	if args == nil {
		return nil, fmt.Errorf("releaseescrow %s: args are required", name)
	}
	if len(args.Readers) == 0 {
		return nil, fmt.Errorf("releaseescrow %s: at least one reader role is required", name)
	}
	for who, arn := range args.Readers {
		if arn == nil {
			return nil, fmt.Errorf("releaseescrow %s: reader %q has no role ARN", name, who)
		}
	}
	days := args.NoncurrentDays
	if days == 0 {
		days = 30
	}
	if days < 1 {
		return nil, fmt.Errorf("releaseescrow %s: noncurrent days %d: want at least 1", name, days)
	}
	e := &ReleaseEscrow{}
	if err := ctx.RegisterComponentResource(TypeToken, name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)

	b, err := s3.NewBucketV2(ctx, name+"-bucket", &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(!args.Protect),
		Tags:         tags.Named(args.Tags, name+"-release-escrow"),
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	e.Bucket, e.BucketARN, e.Region = b.Bucket, b.Arn, b.Region
	if err := settings(ctx, name, b, days, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPolicy(ctx, name+"-policy", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: readPolicy(b.Arn, args.Readers),
	}, parent); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"bucket": e.Bucket, "bucketArn": e.BucketARN, "region": e.Region,
	}); err != nil {
		return nil, fmt.Errorf("releaseescrow %s: register outputs: %w", name, err)
	}
	return e, nil
}

// settings are the bucket's guards: no public access, owner-enforced objects, SSE-S3, versioning, and
// the lifecycle of noncurrent versions and abandoned multipart uploads.
func settings(ctx *pulumi.Context, name string, b *s3.BucketV2, days int, parent pulumi.ResourceOption) error {
	id := b.ID()
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket: id, BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, parent); err != nil {
		return err
	}
	owner := &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{Bucket: id, Rule: owner}, parent); err != nil {
		return err
	}
	sse := s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
		ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm: pulumi.String("AES256"),
		},
	}}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption",
		&s3.BucketServerSideEncryptionConfigurationV2Args{Bucket: id, Rules: sse}, parent); err != nil {
		return err
	}
	versioning := &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")}
	if _, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{Bucket: id, VersioningConfiguration: versioning}, parent); err != nil {
		return err
	}
	rule := s3.BucketLifecycleConfigurationV2RuleArgs{
		Id: pulumi.String("noncurrent-artifacts"), Status: pulumi.String("Enabled"),
		Filter:                         &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(Prefix)},
		NoncurrentVersionExpiration:    &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(days)},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{DaysAfterInitiation: pulumi.Int(1)},
	}
	_, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: id, Rules: s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, parent)
	return err
}

// readPolicy lets the readers GET objects under Prefix (nothing else is granted) and refuses every request
// not made over TLS.
func readPolicy(bucketARN pulumi.StringOutput, readers map[string]pulumi.StringInput) pulumi.StringOutput {
	names := make([]string, 0, len(readers))
	for n := range readers {
		names = append(names, n)
	}
	sort.Strings(names)
	inputs := []any{bucketARN}
	for _, n := range names {
		inputs = append(inputs, readers[n])
	}
	return pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		arn := v[0].(string)
		var roles []string
		for _, r := range v[1:] {
			roles = append(roles, r.(string))
		}
		return iampolicy.Document(
			iampolicy.Statement{Sid: "InstanceRolesReadArtifacts", Effect: "Allow", Principal: map[string]any{"AWS": roles},
				Action: []string{"s3:GetObject", "s3:GetObjectVersion"}, Resource: []string{arn + "/" + Prefix + "*"}},
			iampolicy.Statement{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: map[string]any{"AWS": "*"},
				Action: []string{"s3:*"}, Resource: []string{arn, arn + "/*"},
				Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
		)
	}).(pulumi.StringOutput)
}
