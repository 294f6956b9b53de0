// Package backupvault is the database backups' home on a second cloud: a GCS bucket in a multi- or
// dual-region, encrypted with a Cloud KMS key (CMEK, rotated), uniform bucket-level access, public access
// prevention enforced, a retention policy (locked in production), soft delete, lifecycle to colder storage and
// expiry after the retention. Two identities and no keys: a WRITER the AWS backup role reaches through
// workload identity federation, which may create objects but never list, overwrite or delete them, and read
// only the binlog chain's plaintext indexes, head hints and beats (a custom role holding storage.objects.get
// alone, bound under an IAM condition on the object name: how the binlog streamers of several workers hand
// over), and a separate RESTORE identity that may read.
//
// Object Versioning stays off: GCS refuses it on a bucket with a retention policy. The retention policy is
// the stronger guarantee (no object can be replaced or deleted before it ages out); soft delete covers the
// rest.
package backupvault

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/iam"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/kms"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:backupvault:BackupVault"

// Roles granted on the bucket.
const (
	WriterRole  = "roles/storage.objectCreator" // storage.objects.create: no get, list, overwrite or delete
	RestoreRole = "roles/storage.objectViewer"  // get and list
)

// HeadReaderPermissions are the custom role the writer holds on the binlog chain's coordination objects.
var HeadReaderPermissions = []string{"storage.objects.get"}

// KeyRotation is the CMEK rotation period (90 days).
const KeyRotation = "7776000s"

// Args configure a BackupVault.
type Args struct {
	Project       string
	ProjectNumber string
	Location      string // EU, EUR4, ...
	KMSLocation   string // europe, us, ...
	RetentionDays int
	ColdAfterDays int
	Lock          bool
	// ObjectPrefix is the prefix of the stack's objects in the bucket (the store URL's prefix=, e.g.
	// "production/"): the writer may read the objects under ObjectPrefix+"binlog/" ending in .json.
	ObjectPrefix string
	// AWSAccountID and the role names that the federation maps to the writer and restore identities.
	AWSAccountID    string
	WriterRoleName  pulumi.StringInput
	RestoreRoleName pulumi.StringInput
	// Labels go on every GCP resource (GCP label syntax: lower case).
	Labels pulumi.StringMap
}

// BackupVault is the bucket, its key and its identities.
type BackupVault struct {
	pulumi.ResourceState

	Bucket                   pulumi.StringOutput
	KMSKey                   pulumi.StringOutput
	WriterServiceAccount     pulumi.StringOutput
	RestoreServiceAccount    pulumi.StringOutput
	WorkloadIdentityProvider pulumi.StringOutput
}

// New builds the vault.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*BackupVault, error) {
	switch {
	case args == nil:
		return nil, fmt.Errorf("backupvault %s: args are required", name)
	case args.RetentionDays < 7:
		return nil, fmt.Errorf("backupvault %s: retention %d days: want at least 7", name, args.RetentionDays)
	case args.Project == "" || args.ProjectNumber == "" || args.AWSAccountID == "":
		return nil, fmt.Errorf("backupvault %s: project, project number and AWS account are required", name)
	case args.WriterRoleName == nil || args.RestoreRoleName == nil:
		return nil, fmt.Errorf("backupvault %s: writer and restore role names are required", name)
	case args.ObjectPrefix != "" && (!strings.HasSuffix(args.ObjectPrefix, "/") || strings.ContainsAny(args.ObjectPrefix, `"\`)):
		return nil, fmt.Errorf("backupvault %s: object prefix %q: want a key prefix ending in /", name, args.ObjectPrefix)
	}
	v := &BackupVault{}
	if err := ctx.RegisterComponentResource(TypeToken, name, v, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(v)
	project := pulumi.String(args.Project)

	ring, err := kms.NewKeyRing(ctx, name+"-keyring", &kms.KeyRingArgs{
		Name: pulumi.String(name + "-backups"), Location: pulumi.String(args.KMSLocation), Project: project,
	}, parent)
	if err != nil {
		return nil, err
	}
	key, err := kms.NewCryptoKey(ctx, name+"-key", &kms.CryptoKeyArgs{
		Name:                     pulumi.String(name + "-backups"),
		KeyRing:                  ring.ID(),
		Purpose:                  pulumi.String("ENCRYPT_DECRYPT"),
		RotationPeriod:           pulumi.String(KeyRotation),
		DestroyScheduledDuration: pulumi.String("2592000s"),
		Labels:                   args.Labels,
	}, parent, pulumi.Protect(args.Lock))
	if err != nil {
		return nil, err
	}
	v.KMSKey = key.ID().ToStringOutput()
	// Cloud Storage's service agent encrypts and decrypts with the key; nobody else is granted it.
	agent := fmt.Sprintf("serviceAccount:service-%s@gs-project-accounts.iam.gserviceaccount.com", args.ProjectNumber)
	keyGrant, err := kms.NewCryptoKeyIAMMember(ctx, name+"-key-gcs-agent", &kms.CryptoKeyIAMMemberArgs{
		CryptoKeyId: key.ID(), Role: pulumi.String("roles/cloudkms.cryptoKeyEncrypterDecrypter"), Member: pulumi.String(agent),
	}, parent)
	if err != nil {
		return nil, err
	}

	retention := args.RetentionDays * 86400
	bucket, err := storage.NewBucket(ctx, name+"-bucket", &storage.BucketArgs{
		Project:                  project,
		Location:                 pulumi.String(args.Location),
		StorageClass:             pulumi.String("STANDARD"),
		UniformBucketLevelAccess: pulumi.Bool(true),
		PublicAccessPrevention:   pulumi.String("enforced"),
		Encryption:               &storage.BucketEncryptionArgs{DefaultKmsKeyName: key.ID()},
		RetentionPolicy:          &storage.BucketRetentionPolicyArgs{RetentionPeriod: pulumi.Int(retention), IsLocked: pulumi.Bool(args.Lock)},
		SoftDeletePolicy:         &storage.BucketSoftDeletePolicyArgs{RetentionDurationSeconds: pulumi.Int(7 * 86400)},
		LifecycleRules: storage.BucketLifecycleRuleArray{
			storage.BucketLifecycleRuleArgs{
				Action:    storage.BucketLifecycleRuleActionArgs{Type: pulumi.String("SetStorageClass"), StorageClass: pulumi.String("COLDLINE")},
				Condition: storage.BucketLifecycleRuleConditionArgs{Age: pulumi.Int(args.ColdAfterDays), MatchesStorageClasses: pulumi.ToStringArray([]string{"STANDARD"})},
			},
			storage.BucketLifecycleRuleArgs{
				Action:    storage.BucketLifecycleRuleActionArgs{Type: pulumi.String("Delete")},
				Condition: storage.BucketLifecycleRuleConditionArgs{Age: pulumi.Int(args.RetentionDays + 1)},
			},
		},
		ForceDestroy: pulumi.Bool(false),
		Labels:       args.Labels,
	}, parent, pulumi.DependsOn([]pulumi.Resource{keyGrant}), pulumi.Protect(args.Lock))
	if err != nil {
		return nil, err
	}
	v.Bucket = bucket.Name

	// Workload identity federation: the AWS account's backup and restore roles, no service-account keys.
	poolID := PoolID(name)
	pool, err := iam.NewWorkloadIdentityPool(ctx, name+"-pool", &iam.WorkloadIdentityPoolArgs{
		Project: project, WorkloadIdentityPoolId: pulumi.String(poolID),
		DisplayName: pulumi.String("plinth AWS backup hosts"),
	}, parent)
	if err != nil {
		return nil, err
	}
	provider, err := iam.NewWorkloadIdentityPoolProvider(ctx, name+"-aws-provider", &iam.WorkloadIdentityPoolProviderArgs{
		Project:                        project,
		WorkloadIdentityPoolId:         pool.WorkloadIdentityPoolId,
		WorkloadIdentityPoolProviderId: pulumi.String("aws"),
		Aws:                            &iam.WorkloadIdentityPoolProviderAwsArgs{AccountId: pulumi.String(args.AWSAccountID)},
		AttributeMapping: pulumi.StringMap{
			"google.subject":     pulumi.String("assertion.arn"),
			"attribute.aws_role": pulumi.String("assertion.arn.extract('assumed-role/{role}/')"),
		},
		// Only the two roles plinth names may federate at all.
		AttributeCondition: pulumi.All(args.WriterRoleName, args.RestoreRoleName).ApplyT(func(r []any) string {
			return fmt.Sprintf("attribute.aws_role in ['%s', '%s']", r[0], r[1])
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	v.WorkloadIdentityProvider = provider.Name

	identity := func(kind, role string, awsRole pulumi.StringInput) (*serviceaccount.Account, error) {
		sa, err := serviceaccount.NewAccount(ctx, name+"-"+kind, &serviceaccount.AccountArgs{
			Project:     project,
			AccountId:   pulumi.String(accountID(name, kind)),
			DisplayName: pulumi.Sprintf("plinth backups: %s", kind),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := serviceaccount.NewIAMMember(ctx, name+"-"+kind+"-federation", &serviceaccount.IAMMemberArgs{
			ServiceAccountId: sa.Name,
			Role:             pulumi.String("roles/iam.workloadIdentityUser"),
			Member: pulumi.All(pool.Name, awsRole).ApplyT(func(v []any) string {
				return fmt.Sprintf("principalSet://iam.googleapis.com/%s/attribute.aws_role/%s", v[0], v[1])
			}).(pulumi.StringOutput),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := storage.NewBucketIAMMember(ctx, name+"-"+kind+"-bucket", &storage.BucketIAMMemberArgs{
			Bucket: bucket.Name, Role: pulumi.String(role), Member: sa.Member,
		}, parent); err != nil {
			return nil, err
		}
		return sa, nil
	}
	writer, err := identity("writer", WriterRole, args.WriterRoleName)
	if err != nil {
		return nil, err
	}
	restore, err := identity("restore", RestoreRole, args.RestoreRoleName)
	if err != nil {
		return nil, err
	}
	v.WriterServiceAccount, v.RestoreServiceAccount = writer.Email, restore.Email
	if err := headReader(ctx, name, args, bucket, writer, parent); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(v, pulumi.Map{
		"bucket":                   v.Bucket,
		"kmsKey":                   v.KMSKey,
		"writerServiceAccount":     v.WriterServiceAccount,
		"restoreServiceAccount":    v.RestoreServiceAccount,
		"workloadIdentityProvider": v.WorkloadIdentityProvider,
	}); err != nil {
		return nil, fmt.Errorf("backupvault %s: register outputs: %w", name, err)
	}
	return v, nil
}

// headReader lets the writer GET (nothing else) the binlog chain's indexes, head hints and beats: plaintext
// sequence numbers, GTID sets and hashes; the segments themselves are age-encrypted to keys no host holds and
// stay unreadable, as does everything outside the stack's binlog/.
func headReader(ctx *pulumi.Context, name string, args *Args, bucket *storage.Bucket, writer *serviceaccount.Account, parent pulumi.ResourceOption) error {
	role, err := projects.NewIAMCustomRole(ctx, name+"-binlog-head-reader", &projects.IAMCustomRoleArgs{
		Project:     pulumi.String(args.Project),
		RoleId:      pulumi.String(HeadReaderRoleID(name)),
		Title:       pulumi.Sprintf("plinth %s: binlog chain head reader", name),
		Description: pulumi.String("storage.objects.get only: bound to the backup writer under a condition on the binlog index objects"),
		Permissions: pulumi.ToStringArray(HeadReaderPermissions),
	}, parent)
	if err != nil {
		return err
	}
	_, err = storage.NewBucketIAMMember(ctx, name+"-writer-binlog-head", &storage.BucketIAMMemberArgs{
		Bucket: bucket.Name, Role: role.Name, Member: writer.Member,
		Condition: &storage.BucketIAMMemberConditionArgs{
			Title:       pulumi.String("binlog chain head"),
			Description: pulumi.String("the binlog segment indexes, head hints and beats under the stack's binlog/ (JSON), never segment data"),
			Expression:  bucket.Name.ApplyT(func(b string) string { return HeadReaderCondition(b, args.ObjectPrefix) }).(pulumi.StringOutput),
		},
	}, parent)
	return err
}

// HeadReaderCondition is the IAM condition of the writer's head-reader binding on bucket.
func HeadReaderCondition(bucket, objectPrefix string) string {
	return fmt.Sprintf(`resource.name.startsWith("projects/_/buckets/%s/objects/%sbinlog/") && resource.name.endsWith(".json")`, bucket, objectPrefix)
}

// HeadReaderRoleID is the custom role's id (letters, digits, underscores; at most 64).
func HeadReaderRoleID(name string) string {
	id := "plinthBinlogHead_" + strings.NewReplacer("-", "_", ".", "_").Replace(name)
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// PoolID is the workload identity pool of the vault named name.
func PoolID(name string) string { return shortID(name + "-aws") }

// ProviderID is the pool's AWS provider.
const ProviderID = "aws"

// FederationAudience is the audience a credential configuration names for the vault's pool provider.
func FederationAudience(name, projectNumber string) string {
	return fmt.Sprintf("//iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/providers/%s",
		projectNumber, PoolID(name), ProviderID)
}

// WriterEmail is the e-mail of the vault's writer service account (known before it exists: the stack renders
// the worker tier's credential configuration with it).
func WriterEmail(name, project string) string {
	return accountID(name, "writer") + "@" + project + ".iam.gserviceaccount.com"
}

func accountID(name, kind string) string { return shortID(name + "-" + kind) }

// shortID fits GCP's 6-30 character ids (service accounts, pools).
func shortID(s string) string {
	s = strings.ToLower(s)
	if len(s) > 30 {
		s = s[:30]
	}
	return strings.TrimRight(s, "-")
}
