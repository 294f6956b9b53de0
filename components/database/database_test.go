package database

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

func build(t *testing.T, replicas int, withDR, protect bool) *offline.Result {
	t.Helper()
	return componenttest.Run(t, func(ctx *pulumi.Context) error {
		var dr *DR
		if withDR {
			p, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{Region: pulumi.String("eu-central-1")})
			if err != nil {
				return err
			}
			dr = &DR{Provider: p, Region: "eu-central-1", SubnetIDs: pulumi.ToStringArray([]string{"dr-a", "dr-b"}), SecurityGroupID: pulumi.String("sg-dr-db")}
		}
		_, err := New(ctx, "prod-db", &Args{
			AccountID: pulumi.String("123456789012"), Region: "eu-west-1", AZs: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"},
			SubnetIDs: pulumi.ToStringArray([]string{"d-a", "d-b", "d-c"}), SecurityGroupID: pulumi.String("sg-db"),
			InstanceClass: "db.r6g.large", EngineVersion: "8.0", AllocatedStorageGiB: 100, MaxStorageGiB: 500,
			MultiAZ: true, ReadReplicas: replicas, BackupRetentionDays: 14, DeletionProtection: protect, DR: dr,
			Tags: componenttest.Tags(),
		})
		return err
	})
}

func instances(res *offline.Result) (primary *offline.Resource, replicas []*offline.Resource, dr *offline.Resource) {
	for _, r := range res.ByType("aws:rds/instance:Instance") {
		switch {
		case strings.HasSuffix(r.Name, "-primary"):
			primary = r
		case strings.HasSuffix(r.Name, "-dr-replica"):
			dr = r
		default:
			replicas = append(replicas, r)
		}
	}
	return
}

func TestDatabase(t *testing.T) {
	res := build(t, 2, true, true)
	componenttest.AssertFamily(t, res, TypeToken)
	primary, replicas, dr := instances(res)
	if primary == nil || len(replicas) != 2 || dr == nil {
		t.Fatalf("primary %v, %d replicas, dr %v", primary != nil, len(replicas), dr != nil)
	}
	keys := map[string]*offline.Resource{}
	for _, k := range res.ByType("aws:kms/key:Key") {
		keys[k.Name] = k
		if k.Inputs["enableKeyRotation"] != true {
			t.Errorf("key %s does not rotate", k.Name)
		}
	}
	primaryKey, drKey := keys["prod-db-key"], keys["prod-db-dr-key"]
	if primaryKey == nil || drKey == nil {
		t.Fatalf("keys = %v", keys)
	}
	for path, want := range map[string]any{
		"engine": "mysql", "engineVersion": "8.0", "storageEncrypted": true, "kmsKeyId": primaryKey.Outputs["arn"],
		"multiAz": true, "publiclyAccessible": false, "manageMasterUserPassword": true, "backupRetentionPeriod": float64(14),
		"performanceInsightsEnabled": true, "deletionProtection": true, "skipFinalSnapshot": false,
		"finalSnapshotIdentifier": "prod-db-final", "iamDatabaseAuthenticationEnabled": true,
	} {
		if got := componenttest.Get(primary.Inputs, path); got != want {
			t.Errorf("primary %s = %v, want %v", path, got, want)
		}
	}
	if _, plain := primary.Inputs["password"]; plain {
		t.Error("the primary has a password input: it must be managed by Secrets Manager")
	}
	for _, r := range replicas {
		if r.Inputs["replicateSourceDb"] != primary.Outputs["identifier"] || r.Inputs["storageEncrypted"] != true ||
			r.Inputs["publiclyAccessible"] != false || r.Inputs["kmsKeyId"] != primaryKey.Outputs["arn"] {
			t.Errorf("replica %s: %v", r.Name, r.Inputs)
		}
	}
	// The DR replica: same data, other region, a key of that region, through the DR provider.
	if dr.Inputs["replicateSourceDb"] != primary.Outputs["arn"] || dr.Inputs["kmsKeyId"] != drKey.Outputs["arn"] ||
		dr.Inputs["storageEncrypted"] != true || dr.Inputs["publiclyAccessible"] != false {
		t.Errorf("DR replica: %v", dr.Inputs)
	}
	if !strings.Contains(dr.Provider, "aws-dr") || !strings.Contains(drKey.Provider, "aws-dr") {
		t.Errorf("DR replica/key not created through the DR provider: %q / %q", dr.Provider, drKey.Provider)
	}
	if strings.Contains(primary.Provider, "aws-dr") {
		t.Errorf("primary created in the DR region")
	}

	// Parameter groups: TLS required, auto-named (never a fixed name), never delete-before-replace.
	pgs := res.ByType("aws:rds/parameterGroup:ParameterGroup")
	if len(pgs) != 2 {
		t.Fatalf("%d parameter groups, want primary + DR region", len(pgs))
	}
	for _, pg := range pgs {
		if pg.Inputs["name"] != nil || pg.DeleteBeforeReplace {
			t.Errorf("parameter group %s: name %v, deleteBeforeReplace %v: a forced replacement would fight the group in use", pg.Name, pg.Inputs["name"], pg.DeleteBeforeReplace)
		}
		set := map[string]string{}
		for _, p := range pg.Inputs["parameters"].([]any) {
			set[fmt.Sprint(componenttest.Get(p, "name"))] = fmt.Sprintf("%v/%v", componenttest.Get(p, "value"), componenttest.Get(p, "applyMethod"))
		}
		if set["require_secure_transport"] != "ON/immediate" || pg.Inputs["family"] != Family {
			t.Errorf("parameter group %s does not require TLS: %v", pg.Name, pg.Inputs["parameters"])
		}
		// GTIDs on (the drill's T0/RPO and the binlog streamer need @@gtid_executed); static, so at the reboot.
		if set["gtid-mode"] != "ON/pending-reboot" || set["enforce_gtid_consistency"] != "ON/pending-reboot" {
			t.Errorf("parameter group %s does not turn GTIDs on: %v", pg.Name, set)
		}
	}
	if primary.Inputs["parameterGroupName"] == nil {
		t.Error("primary does not use the TLS parameter group")
	}
}

func TestStagingShape(t *testing.T) {
	res := build(t, 0, false, false)
	primary, replicas, dr := instances(res)
	if len(replicas) != 0 || dr != nil {
		t.Errorf("staging: %d replicas, dr %v", len(replicas), dr != nil)
	}
	if primary.Inputs["skipFinalSnapshot"] != true || primary.Inputs["deletionProtection"] != false || primary.Inputs["finalSnapshotIdentifier"] != nil {
		t.Errorf("staging primary: %v", primary.Inputs)
	}
	if primary.Inputs["storageEncrypted"] != true {
		t.Error("staging primary unencrypted")
	}
}

// TestDRWithoutProtection: a DR replica on an unprotected database (a drill copy) has no final snapshots.
func TestDRWithoutProtection(t *testing.T) {
	res := build(t, 1, true, false)
	primary, _, dr := instances(res)
	if dr == nil || dr.Inputs["finalSnapshotIdentifier"] != nil || primary.Inputs["finalSnapshotIdentifier"] != nil {
		t.Errorf("unprotected: primary %v, dr %v", primary.Inputs["finalSnapshotIdentifier"], dr)
	}
}

func TestBadArgs(t *testing.T) {
	err := componenttest.RunErr(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "db", &Args{AZs: []string{"a"}, ReadReplicas: 9})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "database db: read replicas 9") {
		t.Errorf("err = %v", err)
	}
}
