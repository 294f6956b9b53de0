// Package database is the MySQL tier: an RDS MySQL 8.0 primary (Multi-AZ when asked) in the data subnets,
// encrypted with a customer KMS key, TLS enforced by its parameter group, automated backups, Performance
// Insights, a master password that only Secrets Manager ever sees, N read replicas in the primary region and
// one cross-region replica in the DR region (through a second AWS provider, with a key of that region).
package database

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/tags"
)

// TypeToken is the component's type. Never change it.
const TypeToken = "plinth:database:Database"

// Family is the parameter group family of the engine.
const Family = "mysql8.0"

// Parameters enforce encryption in transit (clients must use TLS 1.2+) and turn GTIDs on: the DR drill's T0 and
// RPO, its catch-up wait (WAIT_FOR_EXECUTED_GTID_SET) and the backup engine's binlog streaming all need
// @@gtid_executed, which RDS MySQL leaves empty by default (gtid-mode OFF_PERMISSIVE). An instance created
// without them must step OFF_PERMISSIVE -> ON_PERMISSIVE -> ON (docs/drill.md).
var Parameters = map[string]string{
	"require_secure_transport": "ON",
	"tls_version":              "TLSv1.2,TLSv1.3",
	"gtid-mode":                "ON",
	"enforce_gtid_consistency": "ON",
}

// applyMethod: require_secure_transport is dynamic; the others are static and apply at the next reboot.
func applyMethod(param string) string {
	if param == "require_secure_transport" {
		return "immediate"
	}
	return "pending-reboot"
}

// DR places the cross-region replica.
type DR struct {
	Provider        pulumi.ProviderResource
	Region          string
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
}

// Args configure a Database.
type Args struct {
	AccountID           pulumi.StringInput
	Region              string
	AZs                 []string
	SubnetIDs           pulumi.StringArrayInput
	SecurityGroupID     pulumi.StringInput
	InstanceClass       string
	EngineVersion       string
	AllocatedStorageGiB int
	MaxStorageGiB       int
	MultiAZ             bool
	ReadReplicas        int
	BackupRetentionDays int
	DeletionProtection  bool
	// DR, when set, adds the cross-region replica.
	DR   *DR
	Tags pulumi.StringMap
}

// Database is the primary and its replicas.
type Database struct {
	pulumi.ResourceState

	WriterEndpoint  pulumi.StringOutput
	ReaderEndpoints pulumi.StringArrayOutput
	PrimaryID       pulumi.StringOutput
	ReplicaIDs      pulumi.StringArrayOutput
	// Replicas are the in-region replicas' identifiers, one output each (per-replica alarms).
	Replicas        []pulumi.StringOutput
	DRReplicaID     pulumi.StringOutput
	MasterSecretARN pulumi.StringOutput
	// RestoreRoleName is the AWS role operators assume to read backups (bound to the vault's restore identity).
	RestoreRoleName pulumi.StringOutput
}

// New builds the database tier.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Database, error) {
	switch {
	case args == nil:
		return nil, fmt.Errorf("database %s: args are required", name)
	case args.ReadReplicas < 0 || args.ReadReplicas > 5:
		return nil, fmt.Errorf("database %s: read replicas %d: want 0..5", name, args.ReadReplicas)
	case len(args.AZs) == 0:
		return nil, fmt.Errorf("database %s: availability zones are required", name)
	case args.DR != nil && (args.DR.Provider == nil || args.DR.Region == "" || args.DR.Region == args.Region):
		return nil, fmt.Errorf("database %s: the DR replica needs a provider for a region other than %s", name, args.Region)
	}
	d := &Database{}
	if err := ctx.RegisterComponentResource(TypeToken, name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	dbTags := tags.Merge(args.Tags, map[string]string{"plinth:tier": "db"})

	key, err := dataKey(ctx, name+"-key", args.AccountID, dbTags, parent)
	if err != nil {
		return nil, err
	}
	subnets, err := rds.NewSubnetGroup(ctx, name+"-subnets", &rds.SubnetGroupArgs{
		SubnetIds:   args.SubnetIDs,
		Description: pulumi.String("plinth data subnets"),
		Tags:        dbTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	params, err := parameterGroup(ctx, name+"-params", dbTags, parent)
	if err != nil {
		return nil, err
	}

	// Final snapshots when the database is protected (production); none otherwise.
	var final, drFinal pulumi.StringPtrInput
	if args.DeletionProtection {
		final, drFinal = pulumi.StringPtr(name+"-final"), pulumi.StringPtr(name+"-dr-final")
	}
	primary, err := rds.NewInstance(ctx, name+"-primary", &rds.InstanceArgs{
		Engine:                             pulumi.String("mysql"),
		EngineVersion:                      pulumi.String(args.EngineVersion),
		InstanceClass:                      pulumi.String(args.InstanceClass),
		AllocatedStorage:                   pulumi.Int(args.AllocatedStorageGiB),
		MaxAllocatedStorage:                pulumi.Int(args.MaxStorageGiB),
		StorageType:                        pulumi.String("gp3"),
		StorageEncrypted:                   pulumi.Bool(true),
		KmsKeyId:                           key.Arn,
		MultiAz:                            pulumi.Bool(args.MultiAZ),
		DbSubnetGroupName:                  subnets.Name,
		VpcSecurityGroupIds:                pulumi.StringArray{args.SecurityGroupID},
		ParameterGroupName:                 params.Name,
		PubliclyAccessible:                 pulumi.Bool(false),
		Username:                           pulumi.String("plinth_admin"),
		ManageMasterUserPassword:           pulumi.Bool(true), // the password lives in Secrets Manager only
		MasterUserSecretKmsKeyId:           key.Arn,
		IamDatabaseAuthenticationEnabled:   pulumi.Bool(true),
		BackupRetentionPeriod:              pulumi.Int(args.BackupRetentionDays),
		BackupWindow:                       pulumi.String("02:00-03:00"),
		MaintenanceWindow:                  pulumi.String("sun:03:30-sun:04:30"),
		CopyTagsToSnapshot:                 pulumi.Bool(true),
		DeleteAutomatedBackups:             pulumi.Bool(!args.DeletionProtection),
		DeletionProtection:                 pulumi.Bool(args.DeletionProtection),
		SkipFinalSnapshot:                  pulumi.Bool(!args.DeletionProtection),
		FinalSnapshotIdentifier:            final,
		PerformanceInsightsEnabled:         pulumi.Bool(true),
		PerformanceInsightsKmsKeyId:        key.Arn,
		PerformanceInsightsRetentionPeriod: pulumi.Int(7),
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray([]string{"error", "slowquery"}),
		AutoMinorVersionUpgrade:            pulumi.Bool(true),
		CaCertIdentifier:                   pulumi.String("rds-ca-rsa2048-g1"),
		Tags:                               tags.Named(dbTags, name+"-primary"),
	}, parent)
	if err != nil {
		return nil, err
	}
	d.WriterEndpoint, d.PrimaryID = primary.Endpoint, primary.Identifier
	d.MasterSecretARN = primary.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()

	var readers, replicaIDs pulumi.StringArray
	for i := 0; i < args.ReadReplicas; i++ {
		az := args.AZs[(i+1)%len(args.AZs)] // spread replicas away from the primary's first AZ
		r, err := rds.NewInstance(ctx, fmt.Sprintf("%s-replica-%d", name, i+1), &rds.InstanceArgs{
			ReplicateSourceDb:                  primary.Identifier,
			InstanceClass:                      pulumi.String(args.InstanceClass),
			AvailabilityZone:                   pulumi.String(az),
			StorageEncrypted:                   pulumi.Bool(true),
			KmsKeyId:                           key.Arn,
			VpcSecurityGroupIds:                pulumi.StringArray{args.SecurityGroupID},
			ParameterGroupName:                 params.Name,
			PubliclyAccessible:                 pulumi.Bool(false),
			PerformanceInsightsEnabled:         pulumi.Bool(true),
			PerformanceInsightsKmsKeyId:        key.Arn,
			PerformanceInsightsRetentionPeriod: pulumi.Int(7),
			SkipFinalSnapshot:                  pulumi.Bool(true),
			DeletionProtection:                 pulumi.Bool(args.DeletionProtection),
			AutoMinorVersionUpgrade:            pulumi.Bool(true),
			CaCertIdentifier:                   pulumi.String("rds-ca-rsa2048-g1"),
			Tags:                               tags.Named(dbTags, fmt.Sprintf("%s-replica-%d", name, i+1)),
		}, parent)
		if err != nil {
			return nil, err
		}
		readers = append(readers, r.Endpoint)
		replicaIDs = append(replicaIDs, r.Identifier)
		d.Replicas = append(d.Replicas, r.Identifier)
	}
	d.ReaderEndpoints = readers.ToStringArrayOutput()
	d.ReplicaIDs = replicaIDs.ToStringArrayOutput()
	d.DRReplicaID = pulumi.String("").ToStringOutput()

	if args.DR != nil {
		inDR := pulumi.Provider(args.DR.Provider)
		drKey, err := dataKey(ctx, name+"-dr-key", args.AccountID, dbTags, parent, inDR)
		if err != nil {
			return nil, err
		}
		drSubnets, err := rds.NewSubnetGroup(ctx, name+"-dr-subnets", &rds.SubnetGroupArgs{
			SubnetIds: args.DR.SubnetIDs, Description: pulumi.String("plinth DR data subnets"), Tags: dbTags,
		}, parent, inDR)
		if err != nil {
			return nil, err
		}
		drParams, err := parameterGroup(ctx, name+"-dr-params", dbTags, parent, inDR)
		if err != nil {
			return nil, err
		}
		dr, err := rds.NewInstance(ctx, name+"-dr-replica", &rds.InstanceArgs{
			ReplicateSourceDb:                  primary.Arn, // cross-region replicas name their source by ARN
			InstanceClass:                      pulumi.String(args.InstanceClass),
			StorageEncrypted:                   pulumi.Bool(true),
			KmsKeyId:                           drKey.Arn, // a key of the DR region
			DbSubnetGroupName:                  drSubnets.Name,
			VpcSecurityGroupIds:                pulumi.StringArray{args.DR.SecurityGroupID},
			ParameterGroupName:                 drParams.Name,
			PubliclyAccessible:                 pulumi.Bool(false),
			BackupRetentionPeriod:              pulumi.Int(args.BackupRetentionDays), // ready to promote
			PerformanceInsightsEnabled:         pulumi.Bool(true),
			PerformanceInsightsKmsKeyId:        drKey.Arn,
			PerformanceInsightsRetentionPeriod: pulumi.Int(7),
			SkipFinalSnapshot:                  pulumi.Bool(!args.DeletionProtection),
			FinalSnapshotIdentifier:            drFinal,
			DeletionProtection:                 pulumi.Bool(args.DeletionProtection),
			AutoMinorVersionUpgrade:            pulumi.Bool(true),
			CaCertIdentifier:                   pulumi.String("rds-ca-rsa2048-g1"),
			Tags:                               tags.Named(dbTags, name+"-dr-replica"),
		}, parent, inDR)
		if err != nil {
			return nil, err
		}
		d.DRReplicaID = dr.Identifier
	}

	// The restore role: operators assume it (with MFA) to read backups during restores and DR drills.
	restore, err := iam.NewRole(ctx, name+"-restore-role", &iam.RoleArgs{
		Description: pulumi.String("plinth backup restores and DR drills"),
		AssumeRolePolicy: args.AccountID.ToStringOutput().ApplyT(func(acct string) (string, error) {
			return iampolicy.Document(iampolicy.Statement{Effect: "Allow",
				Principal: map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"},
				Action:    []string{"sts:AssumeRole"}, Resource: nil,
				Condition: map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}})
		}).(pulumi.StringOutput),
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               dbTags,
	}, parent)
	if err != nil {
		return nil, err
	}
	d.RestoreRoleName = restore.Name

	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"writerEndpoint":  d.WriterEndpoint,
		"readerEndpoints": d.ReaderEndpoints,
		"drReplicaId":     d.DRReplicaID,
		"masterSecretArn": d.MasterSecretARN,
		"restoreRoleName": d.RestoreRoleName,
	}); err != nil {
		return nil, fmt.Errorf("database %s: register outputs: %w", name, err)
	}
	return d, nil
}

// dataKey is a rotating customer key that RDS (and Performance Insights, Secrets Manager) use in its region.
func dataKey(ctx *pulumi.Context, name string, account pulumi.StringInput, t pulumi.StringMap, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	return kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          pulumi.Sprintf("%s: MySQL storage, snapshots, Performance Insights, master secret", name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy: iampolicy.KeyPolicy(account, func(acct string) []iampolicy.Statement {
			return []iampolicy.Statement{{Sid: "RDSInAccount", Effect: "Allow", Principal: map[string]any{"AWS": "*"},
				Action: append(append([]string{}, iampolicy.KeyUse...), "kms:CreateGrant", "kms:ListGrants"), Resource: []string{"*"},
				Condition: map[string]any{"StringEquals": map[string]any{"kms:CallerAccount": acct},
					"StringLike": map[string]any{"kms:ViaService": []string{"rds.*.amazonaws.com", "secretsmanager.*.amazonaws.com"}}}}}
		}),
		Tags: t,
	}, opts...)
}

// parameterGroup is auto-named (Pulumi appends a random suffix) and replaced create-before-delete, so a
// change that forces a new group never collides with, or deletes, the group the instance uses
// (terraform-aws-rds#601); parameter changes themselves are in-place updates.
func parameterGroup(ctx *pulumi.Context, name string, t pulumi.StringMap, opts ...pulumi.ResourceOption) (*rds.ParameterGroup, error) {
	var ps rds.ParameterGroupParameterArray
	for _, k := range []string{"require_secure_transport", "tls_version", "gtid-mode", "enforce_gtid_consistency"} {
		ps = append(ps, rds.ParameterGroupParameterArgs{Name: pulumi.String(k), Value: pulumi.String(Parameters[k]), ApplyMethod: pulumi.String(applyMethod(k))})
	}
	return rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Family:      pulumi.String(Family),
		Description: pulumi.String("plinth MySQL: TLS required"),
		Parameters:  ps,
		Tags:        t,
	}, opts...)
}
