package bastion

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/components/tier"
)

func TestBastion(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "prod-bastion", &Args{
			Region: "eu-west-1", AccountID: pulumi.String("123456789012"),
			PublicSubnetIDs: pulumi.ToStringArray([]string{"pub-a", "pub-b"}), SecurityGroupID: pulumi.String("sg-bastion"),
			InstanceType: "t3.micro", SSHUser: "plinth", ParameterPath: "/plinth/prod", LogRetentionDays: 365,
			Tags: componenttest.Tags(),
		})
		return err
	})
	componenttest.AssertFamily(t, res, TypeToken)
	if len(res.ByType(tier.TypeToken)) != 1 {
		t.Fatal("bastion should build on one tier")
	}
	asg := componenttest.One(t, res, "aws:autoscaling/group:Group")
	for _, k := range []string{"minSize", "maxSize", "desiredCapacity"} {
		if asg.Inputs[k] != float64(1) {
			t.Errorf("asg %s = %v: the bastion is exactly one self-healing instance", k, asg.Inputs[k])
		}
	}
	if subnets := asg.Inputs["vpcZoneIdentifiers"].([]any); len(subnets) != 2 || subnets[0] != "pub-a" {
		t.Errorf("bastion subnets = %v, want the public ones", subnets)
	}
	lt := componenttest.One(t, res, "aws:ec2/launchTemplate:LaunchTemplate")
	if componenttest.Get(lt.Inputs, "metadataOptions.httpTokens") != "required" ||
		componenttest.Get(lt.Inputs, "networkInterfaces.0.associatePublicIpAddress") != "false" {
		t.Errorf("bastion launch template: %v", lt.Inputs["metadataOptions"])
	}
	ud, _ := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
	eip := componenttest.One(t, res, "aws:ec2/eip:Eip")
	for _, want := range []string{"AllowTcpForwarding yes", "PasswordAuthentication no", "PermitOpen *:22 *:3306",
		"associate-address --allocation-id " + eip.Outputs["allocationId"].(string), "pam_tty_audit"} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("bastion user data lacks %q", want)
		}
	}
	var extra string
	for _, rp := range res.ByType("aws:iam/rolePolicy:RolePolicy") {
		if strings.HasSuffix(rp.Name, "-extra-policy") {
			extra = rp.Inputs["policy"].(string)
		}
	}
	if !strings.Contains(extra, "elastic-ip/"+eip.Outputs["allocationId"].(string)) || !strings.Contains(extra, "aws:ResourceTag/plinth:tier") {
		t.Errorf("EIP permission not scoped to its address and the bastion: %s", extra)
	}
	filters := res.ByType("aws:cloudwatch/logMetricFilter:LogMetricFilter")
	if len(filters) != 2 {
		t.Errorf("%d login metric filters, want 2", len(filters))
	}
}
