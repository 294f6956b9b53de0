package tier

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/components/userdata"
)

func appArgs() *Args {
	return &Args{
		Tier: "app", Region: "eu-west-1", AccountID: pulumi.String("123456789012"),
		SubnetIDs: pulumi.ToStringArray([]string{"sn-a", "sn-b", "sn-c"}), SecurityGroupID: pulumi.String("sg-app"),
		InstanceType: "m6i.large", Min: 3, Desired: 3, Max: 9, RootVolumeGiB: 20,
		TargetGroupARNs: pulumi.ToStringArray([]string{"arn:tg"}), SSHUser: "plinth", ParameterPath: "/plinth/prod",
		LogRetentionDays: 90, Tags: componenttest.Tags(),
	}
}

func TestTier(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "prod-app", appArgs())
		return err
	})
	componenttest.AssertFamily(t, res, TypeToken)
	lt := componenttest.One(t, res, "aws:ec2/launchTemplate:LaunchTemplate")
	key := componenttest.One(t, res, "aws:kms/key:Key")
	for path, want := range map[string]any{
		"metadataOptions.httpTokens":                   "required",
		"metadataOptions.httpPutResponseHopLimit":      float64(1),
		"networkInterfaces.0.associatePublicIpAddress": "false",
		"networkInterfaces.0.securityGroups.0":         "sg-app",
		"blockDeviceMappings.0.ebs.encrypted":          "true",
		"blockDeviceMappings.0.ebs.kmsKeyId":           key.Outputs["arn"],
		"instanceType":                                 "m6i.large",
		"imageId":                                      DefaultImage,
	} {
		if got := componenttest.Get(lt.Inputs, path); got != want {
			t.Errorf("launch template %s = %v, want %v", path, got, want)
		}
	}
	ud, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PasswordAuthentication no", "PermitRootLogin no", "AuthenticationMethods publickey",
		"AllowTcpForwarding no", "AllowUsers plinth", "/plinth/prod/ssh/authorized_keys"} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user data lacks %q", want)
		}
	}

	asg := componenttest.One(t, res, "aws:autoscaling/group:Group")
	for path, want := range map[string]any{
		"minSize": float64(3), "maxSize": float64(9), "desiredCapacity": float64(3), "healthCheckType": "ELB",
		"targetGroupArns.0": "arn:tg", "instanceRefresh.strategy": "Rolling",
		"instanceRefresh.preferences.minHealthyPercentage": float64(100), "launchTemplate.id": lt.ID,
	} {
		if got := componenttest.Get(asg.Inputs, path); got != want {
			t.Errorf("asg %s = %v, want %v", path, got, want)
		}
	}
	if n := len(asg.Inputs["vpcZoneIdentifiers"].([]any)); n != 3 {
		t.Errorf("asg spans %d subnets, want all 3 AZs", n)
	}

	// Least privilege: no wildcard actions, no Session Manager, resources scoped.
	for _, rp := range res.ByType("aws:iam/rolePolicy:RolePolicy") {
		var doc struct {
			Statement []struct {
				Action    []string
				Resource  []string
				Condition map[string]any
			}
		}
		if err := json.Unmarshal([]byte(rp.Inputs["policy"].(string)), &doc); err != nil {
			t.Fatalf("%s: %v", rp.Name, err)
		}
		for _, st := range doc.Statement {
			for _, a := range st.Action {
				if strings.Contains(a, "*") || strings.HasPrefix(a, "ssm:StartSession") || strings.HasPrefix(a, "ssmmessages:") {
					t.Errorf("%s grants %s", rp.Name, a)
				}
			}
			for _, r := range st.Resource {
				if r == "*" && st.Condition == nil {
					t.Errorf("%s: unconditioned Resource * for %v", rp.Name, st.Action)
				}
			}
		}
	}
	kp := key.Inputs["policy"].(string)
	if !strings.Contains(kp, "AWSServiceRoleForAutoScaling") || key.Inputs["enableKeyRotation"] != true {
		t.Errorf("tier key: rotation %v, policy %s", key.Inputs["enableKeyRotation"], kp)
	}
}

// TestAppTierWithDeferredData: the data tier's names arrive through a deferred output (the stack builds the
// data tier after the compute tiers): the user data's environment file names them and the role may read the
// database secret, and only it.
func TestAppTierWithDeferredData(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		a := appArgs()
		data, resolve := pulumi.DeferredOutput[userdata.Data](ctx.Context())
		a.Data, a.ServicePort = data, 8443
		if _, err := New(ctx, "prod-app", a); err != nil {
			return err
		}
		resolve(pulumix.Val(userdata.Data{Writer: "db:3306", Reader: "db-r:3306", DBSecretID: userdata.AppDBSecretID("prod"),
			CacheAddr: "cache:6379", CacheTokenSecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tok-AbCdEf"}))
		return nil
	})
	lt := componenttest.One(t, res, "aws:ec2/launchTemplate:LaunchTemplate")
	ud, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PLINTH_DB_WRITER=db:3306", "PLINTH_CACHE_ADDR=cache:6379", "ExecStartPre=+/usr/local/sbin/plinth-app-secrets"} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user data lacks %q", want)
		}
	}
	policy := ""
	for _, rp := range res.ByType("aws:iam/rolePolicy:RolePolicy") {
		policy += rp.Inputs["policy"].(string)
	}
	if !strings.Contains(policy, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:plinth/prod/db-app-user-??????") {
		t.Errorf("the role may not read the app user's secret: %s", policy)
	}
}

func TestWorkerHasNoTargetGroup(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		a := appArgs()
		a.Tier, a.TargetGroupARNs = "worker", nil
		_, err := New(ctx, "prod-worker", a)
		return err
	})
	asg := componenttest.One(t, res, "aws:autoscaling/group:Group")
	if asg.Inputs["healthCheckType"] != "EC2" || asg.Inputs["targetGroupArns"] != nil {
		t.Errorf("worker asg: %v / %v", asg.Inputs["healthCheckType"], asg.Inputs["targetGroupArns"])
	}
}

func TestBadArgs(t *testing.T) {
	for name, mutate := range map[string]func(*Args){
		"min above desired": func(a *Args) { a.Min = 4 },
		"zero min":          func(a *Args) { a.Min, a.Desired = 0, 0 },
		"tiny volume":       func(a *Args) { a.RootVolumeGiB = 2 },
		"no user":           func(a *Args) { a.SSHUser = "" },
	} {
		a := appArgs()
		mutate(a)
		err := componenttest.RunErr(func(ctx *pulumi.Context) error {
			_, err := New(ctx, "prod-app", a)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "tier prod-app") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
