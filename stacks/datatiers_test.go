package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
)

// The data-tier promises, checked on every shipped stack: every storage resource encrypted, no data endpoint
// public, the DR replica in the DR region under a key of that region, the vault writer create-only.

type expect struct {
	path string
	want any
}

var encrypted = map[string][]expect{
	"aws:rds/instance:Instance":                         {{"storageEncrypted", true}, {"publiclyAccessible", false}},
	"aws:opensearch/domain:Domain":                      {{"encryptAtRest.enabled", true}, {"nodeToNodeEncryption.enabled", true}, {"domainEndpointOptions.enforceHttps", true}},
	"aws:elasticache/replicationGroup:ReplicationGroup": {{"atRestEncryptionEnabled", true}, {"transitEncryptionEnabled", true}},
	"aws:ec2/launchTemplate:LaunchTemplate":             {{"blockDeviceMappings.0.ebs.encrypted", "true"}, {"metadataOptions.httpTokens", "required"}},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {{"rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"}},
	"aws:cloudwatch/logGroup:LogGroup": {},
	"gcp:storage/bucket:Bucket":        {{"publicAccessPrevention", "enforced"}, {"uniformBucketLevelAccess", true}},
}

func TestEveryStorageResourceEncrypted(t *testing.T) {
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		for typ, checks := range encrypted {
			rs := res.ByType(typ)
			if len(rs) == 0 {
				t.Errorf("%s: no %s", stack, typ)
			}
			for _, r := range rs {
				for _, c := range checks {
					if got := componenttest.Get(r.Inputs, c.path); got != c.want {
						t.Errorf("%s: %s %s = %v, want %v", stack, typ, r.Name, got, c.want)
					}
				}
				switch typ {
				case "aws:rds/instance:Instance", "aws:cloudwatch/logGroup:LogGroup", "aws:elasticache/replicationGroup:ReplicationGroup":
					if r.Inputs["kmsKeyId"] == nil {
						t.Errorf("%s: %s %s not under a customer KMS key", stack, typ, r.Name)
					}
				case "aws:ec2/launchTemplate:LaunchTemplate":
					if componenttest.Get(r.Inputs, "blockDeviceMappings.0.ebs.kmsKeyId") == nil {
						t.Errorf("%s: %s root volume not under a customer KMS key", stack, r.Name)
					}
				case "gcp:storage/bucket:Bucket":
					if componenttest.Get(r.Inputs, "encryption.defaultKmsKeyName") == nil {
						t.Errorf("%s: vault bucket %s without CMEK", stack, r.Name)
					}
				}
			}
		}
		// Every S3 bucket has its encryption configuration and public access block.
		if b, e, p := len(res.ByType("aws:s3/bucketV2:BucketV2")),
			len(res.ByType("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")),
			len(res.ByType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")); b != e || b != p {
			t.Errorf("%s: %d buckets, %d encryption configs, %d public access blocks", stack, b, e, p)
		}
	}
}

// TestNoPublicDataEndpoints: data tiers sit in data subnets (no route to the internet) behind their own
// security groups; none is publicly accessible.
func TestNoPublicDataEndpoints(t *testing.T) {
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		dataSubnets := map[string]bool{}
		for _, sn := range res.ByType("aws:ec2/subnet:Subnet") {
			if componenttest.Get(sn.Inputs, "tags.plinth:subnet-class") == "data" {
				dataSubnets[sn.ID] = true
			}
			if sn.Inputs["mapPublicIpOnLaunch"] != false {
				t.Errorf("%s: subnet %s maps public IPs", stack, sn.Name)
			}
		}
		for _, sg := range res.ByType("aws:rds/subnetGroup:SubnetGroup") {
			for _, id := range sg.Inputs["subnetIds"].([]any) {
				if !dataSubnets[id.(string)] {
					t.Errorf("%s: db subnet group %s uses non-data subnet %v", stack, sg.Name, id)
				}
			}
		}
		for _, sg := range res.ByType("aws:elasticache/subnetGroup:SubnetGroup") {
			for _, id := range sg.Inputs["subnetIds"].([]any) {
				if !dataSubnets[id.(string)] {
					t.Errorf("%s: cache subnet group uses non-data subnet %v", stack, id)
				}
			}
		}
		for _, d := range res.ByType("aws:opensearch/domain:Domain") {
			for _, id := range componenttest.Get(d.Inputs, "vpcOptions.subnetIds").([]any) {
				if !dataSubnets[id.(string)] {
					t.Errorf("%s: search domain in non-data subnet %v", stack, id)
				}
			}
		}
		for _, r := range res.ByType("aws:rds/instance:Instance") {
			if r.Inputs["publiclyAccessible"] != false {
				t.Errorf("%s: %s publicly accessible", stack, r.Name)
			}
		}
	}
}

func TestDRReplicaInDRRegion(t *testing.T) {
	res := evaluate(t, environments.Production)
	spec, _ := environments.Defaults(environments.Production)
	var drProvider *offline.Resource
	for _, p := range res.ByType("pulumi:providers:aws") {
		if p.Inputs["region"] == spec.DRRegion {
			drProvider = p
		}
	}
	if drProvider == nil {
		t.Fatal("no provider for the DR region")
	}
	inDR := func(r *offline.Resource) bool { return strings.HasPrefix(r.Provider, drProvider.URN+"::") }
	var dr *offline.Resource
	for _, r := range res.ByType("aws:rds/instance:Instance") {
		if strings.HasSuffix(r.Name, "-dr-replica") {
			dr = r
		} else if inDR(r) {
			t.Errorf("%s is in the DR region", r.Name)
		}
	}
	if dr == nil || !inDR(dr) {
		t.Fatalf("DR replica missing or not in %s", spec.DRRegion)
	}
	var drKey *offline.Resource
	for _, k := range res.ByType("aws:kms/key:Key") {
		if k.Outputs["arn"] == dr.Inputs["kmsKeyId"] {
			drKey = k
		}
	}
	if drKey == nil || !inDR(drKey) {
		t.Errorf("DR replica key %v is not a key of the DR region", dr.Inputs["kmsKeyId"])
	}
	for _, stack := range []string{environments.Staging, environments.Preproduction} {
		for _, r := range evaluate(t, stack).ByType("aws:rds/instance:Instance") {
			if strings.HasSuffix(r.Name, "-dr-replica") {
				t.Errorf("%s has a DR replica", stack)
			}
		}
	}
}

func TestVaultWriterCannotReadOrDelete(t *testing.T) {
	readOrDelete := []string{"objectViewer", "objectAdmin", "objectUser", "storage.admin", "legacyBucketReader", "legacyBucketOwner", "legacyObjectReader", "legacyObjectOwner"}
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		var writer string
		for _, sa := range res.ByType("gcp:serviceaccount/account:Account") {
			if strings.HasSuffix(sa.Name, "-writer") {
				writer = sa.Outputs["member"].(string)
			}
		}
		if writer == "" {
			t.Fatalf("%s: no writer identity", stack)
		}
		// Besides objectCreator, one conditional grant: a custom role holding storage.objects.get alone, on the
		// stack's binlog/ JSON objects (the chain's indexes, head hints and beats: how streamers hand over).
		headReader := map[string]bool{}
		for _, r := range res.ByType("gcp:projects/iAMCustomRole:IAMCustomRole") {
			if fmt.Sprint(r.Inputs["permissions"]) == "[storage.objects.get]" {
				headReader[r.Outputs["name"].(string)] = true
			}
		}
		grants, scoped := 0, 0
		for _, typ := range []string{"gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding", "gcp:projects/iAMMember:IAMMember"} {
			for _, m := range res.ByType(typ) {
				if m.Inputs["member"] != writer {
					continue
				}
				role := m.Inputs["role"].(string)
				if headReader[role] && typ == "gcp:storage/bucketIAMMember:BucketIAMMember" {
					expr, _ := m.Inputs["condition"].(map[string]any)["expression"].(string)
					if !strings.Contains(expr, "/objects/"+stack+"/binlog/\")") || !strings.Contains(expr, `resource.name.endsWith(".json")`) {
						t.Errorf("%s: the writer's head reader grant is not scoped to the binlog chain: %q", stack, expr)
					}
					scoped++
					continue
				}
				grants++
				for _, bad := range readOrDelete {
					if strings.Contains(role, bad) {
						t.Errorf("%s: the vault writer holds %s", stack, role)
					}
				}
				if role != "roles/storage.objectCreator" {
					t.Errorf("%s: unexpected writer role %s", stack, role)
				}
			}
		}
		if grants != 1 || scoped != 1 {
			t.Errorf("%s: writer has %d grants and %d binlog head readers, want exactly objectCreator and one", stack, grants, scoped)
		}
	}
}
