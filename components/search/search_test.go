package search

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
)

func TestZoneCount(t *testing.T) {
	for _, tt := range []struct{ instances, azs, want int }{
		{1, 3, 1}, {2, 1, 1}, {2, 3, 2}, {3, 2, 2}, {3, 3, 3}, {6, 3, 3},
	} {
		if got := ZoneCount(tt.instances, tt.azs); got != tt.want {
			t.Errorf("ZoneCount(%d, %d) = %d, want %d", tt.instances, tt.azs, got, tt.want)
		}
	}
}

func TestSearch(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "prod-search", &Args{
			AccountID: pulumi.String("123456789012"), Region: "eu-west-1",
			SubnetIDs: pulumi.ToStringArray([]string{"d-a", "d-b", "d-c"}), AZCount: 3, SecurityGroupID: pulumi.String("sg-search"),
			EngineVersion: "OpenSearch_2.13", InstanceType: "r6g.large.search", InstanceCount: 3,
			DedicatedMasters: true, MasterInstanceType: "m6g.large.search", VolumeGiB: 100, LogRetentionDays: 365,
			ClientRoleARNs: pulumi.ToStringArray([]string{"arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/worker"}),
			Tags:           componenttest.Tags(),
		})
		return err
	})
	componenttest.AssertFamily(t, res, TypeToken)
	d := componenttest.One(t, res, "aws:opensearch/domain:Domain")
	key := componenttest.One(t, res, "aws:kms/key:Key")
	for path, want := range map[string]any{
		"clusterConfig.zoneAwarenessEnabled":                      true,
		"clusterConfig.zoneAwarenessConfig.availabilityZoneCount": float64(3),
		"clusterConfig.dedicatedMasterEnabled":                    true,
		"clusterConfig.dedicatedMasterCount":                      float64(3),
		"encryptAtRest.enabled":                                   true,
		"encryptAtRest.kmsKeyId":                                  key.Outputs["arn"],
		"nodeToNodeEncryption.enabled":                            true,
		"domainEndpointOptions.enforceHttps":                      true,
		"domainEndpointOptions.tlsSecurityPolicy":                 TLSPolicy,
		"vpcOptions.securityGroupIds.0":                           "sg-search",
	} {
		if got := componenttest.Get(d.Inputs, path); got != want {
			t.Errorf("domain %s = %v, want %v", path, got, want)
		}
	}
	if subnets := componenttest.Get(d.Inputs, "vpcOptions.subnetIds").([]any); len(subnets) != 3 {
		t.Errorf("domain in %d subnets, want 3 (one per zone): not public, in the VPC", len(subnets))
	}
	pol := d.Inputs["accessPolicies"].(string)
	if !strings.Contains(pol, "role/app") || !strings.Contains(pol, "role/worker") || strings.Contains(pol, `"AWS":"*"`) {
		t.Errorf("access policy must name only the app and worker roles: %s", pol)
	}
	if !strings.Contains(TLSPolicy, "TLS-1-2") {
		t.Errorf("TLS policy %s", TLSPolicy)
	}
}

func TestSingleNode(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "stg-search", &Args{
			AccountID: pulumi.String("123456789012"), Region: "eu-west-1",
			SubnetIDs: pulumi.ToStringArray([]string{"d-a", "d-b"}), AZCount: 2, SecurityGroupID: pulumi.String("sg"),
			EngineVersion: "OpenSearch_2.13", InstanceType: "t3.medium.search", InstanceCount: 1, VolumeGiB: 20,
			LogRetentionDays: 14, ClientRoleARNs: pulumi.ToStringArray([]string{"arn:app"}),
		})
		return err
	})
	d := componenttest.One(t, res, "aws:opensearch/domain:Domain")
	if componenttest.Get(d.Inputs, "clusterConfig.zoneAwarenessEnabled") != false || len(componenttest.Get(d.Inputs, "vpcOptions.subnetIds").([]any)) != 1 {
		t.Errorf("single node: %v", d.Inputs["clusterConfig"])
	}
	if componenttest.Get(d.Inputs, "encryptAtRest.enabled") != true {
		t.Error("staging search unencrypted")
	}
}
