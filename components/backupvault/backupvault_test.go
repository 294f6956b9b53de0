package backupvault

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

func build(t *testing.T, lock bool) *offline.Result {
	return componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "prod-vault", &Args{
			Project: "plinth-backups", ProjectNumber: "1234567", Location: "EUR4", KMSLocation: "europe",
			RetentionDays: 90, ColdAfterDays: 30, Lock: lock, AWSAccountID: "123456789012", ObjectPrefix: "production/",
			WriterRoleName: pulumi.String("worker-role"), RestoreRoleName: pulumi.String("restore-role"),
			Labels: pulumi.StringMap{"environment": pulumi.String("production")},
		})
		return err
	})
}

func TestVault(t *testing.T) {
	res := build(t, true)
	componenttest.AssertFamily(t, res, TypeToken)
	b := componenttest.One(t, res, "gcp:storage/bucket:Bucket")
	key := componenttest.One(t, res, "gcp:kms/cryptoKey:CryptoKey")
	for path, want := range map[string]any{
		"location": "EUR4", "uniformBucketLevelAccess": true, "publicAccessPrevention": "enforced",
		"encryption.defaultKmsKeyName": key.ID, "retentionPolicy.retentionPeriod": float64(90 * 86400),
		"retentionPolicy.isLocked": true, "lifecycleRules.0.action.storageClass": "COLDLINE",
		"lifecycleRules.0.condition.age": float64(30), "lifecycleRules.1.action.type": "Delete",
		"lifecycleRules.1.condition.age": float64(91), "forceDestroy": false,
	} {
		if got := componenttest.Get(b.Inputs, path); got != want {
			t.Errorf("bucket %s = %v, want %v", path, got, want)
		}
	}
	if !b.Protect || !key.Protect {
		t.Errorf("production vault and key must be protected: bucket %v key %v", b.Protect, key.Protect)
	}
	if key.Inputs["rotationPeriod"] != KeyRotation {
		t.Errorf("key rotation = %v", key.Inputs["rotationPeriod"])
	}

	// Identities: the writer can create objects only; the restore identity can read; no keys anywhere.
	if len(res.ByType("gcp:serviceaccount/key:Key")) != 0 {
		t.Error("service-account keys must not exist")
	}
	accounts := map[string]string{} // member -> which identity
	for _, sa := range res.ByType("gcp:serviceaccount/account:Account") {
		accounts[sa.Outputs["member"].(string)] = strings.TrimPrefix(sa.Name, "prod-vault-")
	}
	grants := map[string][]string{}
	var conditional []*offline.Resource
	for _, m := range res.ByType("gcp:storage/bucketIAMMember:BucketIAMMember") {
		if m.Inputs["condition"] != nil {
			conditional = append(conditional, m)
			continue
		}
		who := accounts[m.Inputs["member"].(string)]
		grants[who] = append(grants[who], m.Inputs["role"].(string))
	}
	if strings.Join(grants["writer"], ",") != WriterRole || strings.Join(grants["restore"], ",") != RestoreRole || len(grants) != 2 {
		t.Errorf("bucket grants = %v", grants)
	}
	// The writer's one conditional grant: a custom role holding storage.objects.get alone, on the stack's
	// binlog/ JSON objects (indexes, head hints, beats).
	role := componenttest.One(t, res, "gcp:projects/iAMCustomRole:IAMCustomRole")
	if perms := componenttest.Get(role.Inputs, "permissions"); fmt.Sprint(perms) != "[storage.objects.get]" || role.Inputs["roleId"] != "plinthBinlogHead_prod_vault" {
		t.Errorf("head reader role: %v", role.Inputs)
	}
	if len(conditional) != 1 || accounts[conditional[0].Inputs["member"].(string)] != "writer" || conditional[0].Inputs["role"] != role.Outputs["name"] {
		t.Fatalf("conditional grants: %v (role %v)", conditional, role.Outputs["name"])
	}
	if b.Outputs["name"] == "" || role.Outputs["name"] != "projects/plinth-backups/roles/plinthBinlogHead_prod_vault" {
		t.Fatalf("bucket name %v, role name %v", b.Outputs["name"], role.Outputs["name"])
	}
	want := HeadReaderCondition(b.Outputs["name"].(string), "production/")
	if got := componenttest.Get(conditional[0].Inputs, "condition.expression"); got != want ||
		!strings.Contains(want, `startsWith("projects/_/buckets/`+b.Outputs["name"].(string)+`/objects/production/binlog/")`) || !strings.Contains(want, `endsWith(".json")`) {
		t.Errorf("head reader condition = %v, want %s", got, want)
	}
	for _, forbidden := range []string{"objectViewer", "objectAdmin", "admin", "legacyBucket", "objectUser"} {
		if strings.Contains(WriterRole, forbidden) {
			t.Errorf("writer role %s can read or delete", WriterRole)
		}
	}
	federation := res.ByType("gcp:serviceaccount/iAMMember:IAMMember")
	if len(federation) != 2 {
		t.Errorf("%d federation bindings, want writer and restore", len(federation))
	}
	for _, m := range federation {
		member := m.Inputs["member"].(string)
		if m.Inputs["role"] != "roles/iam.workloadIdentityUser" || !strings.HasPrefix(member, "principalSet://iam.googleapis.com/") {
			t.Errorf("federation binding %s: %v", m.Name, m.Inputs)
		}
	}
	prov := componenttest.One(t, res, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
	if componenttest.Get(prov.Inputs, "aws.accountId") != "123456789012" ||
		!strings.Contains(prov.Inputs["attributeCondition"].(string), "worker-role") {
		t.Errorf("federation provider: %v", prov.Inputs)
	}
	keyMembers := res.ByType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
	if len(keyMembers) != 1 || !strings.Contains(keyMembers[0].Inputs["member"].(string), "gs-project-accounts") {
		t.Errorf("only the Cloud Storage agent may use the key: %v", keyMembers)
	}
}

func TestUnlockedOutsideProduction(t *testing.T) {
	b := componenttest.One(t, build(t, false), "gcp:storage/bucket:Bucket")
	if componenttest.Get(b.Inputs, "retentionPolicy.isLocked") != false || b.Protect {
		t.Errorf("staging vault locked/protected")
	}
}

func TestBadArgs(t *testing.T) {
	err := componenttest.RunErr(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "v", &Args{RetentionDays: 3})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "backupvault v: retention 3 days") {
		t.Errorf("err = %v", err)
	}
	err = componenttest.RunErr(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "v", &Args{RetentionDays: 7, Project: "p", ProjectNumber: "1", AWSAccountID: "1", ObjectPrefix: "production",
			WriterRoleName: pulumi.String("w"), RestoreRoleName: pulumi.String("r")})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `object prefix "production"`) {
		t.Errorf("a prefix without its slash: %v", err)
	}
}
