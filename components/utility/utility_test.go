package utility

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

func build(t *testing.T, nodes int) *offline.Result {
	return componenttest.Run(t, func(ctx *pulumi.Context) error {
		dr, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{Region: pulumi.String("eu-central-1")})
		if err != nil {
			return err
		}
		_, err = New(ctx, "prod-utility", &Args{
			AccountID: pulumi.String("123456789012"), Region: "eu-west-1",
			SubnetIDs: pulumi.ToStringArray([]string{"d-a", "d-b"}), SecurityGroupID: pulumi.String("sg-cache"),
			Cache:              Cache{NodeType: "cache.r6g.large", EngineVersion: "7.1", Nodes: nodes},
			ClientRoleNames:    map[string]pulumi.StringInput{"app": pulumi.String("app-role"), "worker": pulumi.String("worker-role")},
			AlarmEmail:         "oncall@example.com",
			Thresholds:         Thresholds{CPUPercent: 80, ReplicaLagSeconds: 30, ALB5xxPerFiveMins: 50, FailedLogins: 20},
			LoadBalancerSuffix: pulumi.String("app/lb/1"), TargetGroupSuffix: pulumi.String("targetgroup/tg/1"),
			ASGNames:            map[string]pulumi.StringInput{"app": pulumi.String("app-asg"), "worker": pulumi.String("worker-asg")},
			PrimaryDBID:         pulumi.String("db-primary"),
			ReplicaIDs:          []pulumi.StringOutput{pulumi.String("db-r1").ToStringOutput(), pulumi.String("db-r2").ToStringOutput()},
			DR:                  &DRAlarms{Provider: dr, ReplicaID: pulumi.String("db-dr")},
			BastionMetricsSpace: "plinth/bastion",
			Tags:                componenttest.Tags(),
		})
		return err
	})
}

func TestCache(t *testing.T) {
	res := build(t, 3)
	componenttest.AssertFamily(t, res, TypeToken)
	rg := componenttest.One(t, res, "aws:elasticache/replicationGroup:ReplicationGroup")
	for path, want := range map[string]any{
		"automaticFailoverEnabled": true, "multiAzEnabled": true, "atRestEncryptionEnabled": true,
		"transitEncryptionEnabled": true, "numCacheClusters": float64(3), "securityGroupIds.0": "sg-cache",
	} {
		if got := componenttest.Get(rg.Inputs, path); got != want {
			t.Errorf("cache %s = %v, want %v", path, got, want)
		}
	}
	if _, secret := rg.Inputs["authToken"].(offline.Secret); !secret {
		t.Errorf("auth token is not a Pulumi secret: %T", rg.Inputs["authToken"])
	}
	if rg.Inputs["kmsKeyId"] == nil {
		t.Error("cache not encrypted with the customer key")
	}
	sv := componenttest.One(t, res, "aws:secretsmanager/secretVersion:SecretVersion")
	if _, secret := sv.Inputs["secretString"].(offline.Secret); !secret {
		t.Errorf("secret string is not a Pulumi secret")
	}
	if n := len(res.ByType("aws:iam/rolePolicy:RolePolicy")); n != 2 {
		t.Errorf("%d token-reader policies, want app and worker", n)
	}
}

func TestSingleNodeCache(t *testing.T) {
	rg := componenttest.One(t, build(t, 1), "aws:elasticache/replicationGroup:ReplicationGroup")
	if rg.Inputs["automaticFailoverEnabled"] != false || rg.Inputs["transitEncryptionEnabled"] != true {
		t.Errorf("single node: %v", rg.Inputs)
	}
}

func TestAlarms(t *testing.T) {
	res := build(t, 2)
	byMetric := map[string][]*offline.Resource{}
	for _, a := range res.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		byMetric[a.Inputs["metricName"].(string)] = append(byMetric[a.Inputs["metricName"].(string)], a)
		if len(a.Inputs["alarmActions"].([]any)) != 1 {
			t.Errorf("alarm %s notifies nobody", a.Name)
		}
	}
	for metric, want := range map[string]int{
		"HTTPCode_ELB_5XX_Count": 1, "HTTPCode_Target_5XX_Count": 1, "UnHealthyHostCount": 1,
		"ReplicaLag": 3, "CPUUtilization": 3, "FailedLogins": 1,
	} {
		if got := len(byMetric[metric]); got != want {
			t.Errorf("%s alarms: %d, want %d", metric, got, want)
		}
	}
	for _, a := range byMetric["ReplicaLag"] {
		inDR := strings.Contains(a.Provider, "aws-dr")
		if (componenttest.Get(a.Inputs, "dimensions.DBInstanceIdentifier") == "db-dr") != inDR {
			t.Errorf("replica lag alarm %s: the DR replica's alarm must live in the DR region", a.Name)
		}
	}
	if n := len(res.ByType("aws:sns/topic:Topic")); n != 2 {
		t.Errorf("%d alarm topics, want primary and DR", n)
	}
	for _, topic := range res.ByType("aws:sns/topic:Topic") {
		if topic.Inputs["kmsMasterKeyId"] == nil {
			t.Errorf("topic %s unencrypted", topic.Name)
		}
	}
}
