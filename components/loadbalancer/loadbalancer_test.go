package loadbalancer

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

func build(t *testing.T, deletionProtection bool) *offline.Result {
	return componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "lb", &Args{
			Region: "eu-west-1", VpcID: pulumi.String("vpc-1"), PublicSubnetIDs: pulumi.ToStringArray([]string{"a", "b"}),
			SecurityGroupID: pulumi.String("sg-lb"), CertificateARN: "arn:aws:acm:eu-west-1:1:certificate/x",
			AppPort: 8080, DeletionProtection: deletionProtection, LogRetentionDays: 90, Tags: componenttest.Tags(),
		})
		return err
	})
}

func TestLoadBalancer(t *testing.T) {
	res := build(t, true)
	componenttest.AssertFamily(t, res, TypeToken)
	alb := componenttest.One(t, res, "aws:lb/loadBalancer:LoadBalancer")
	bucket := componenttest.One(t, res, "aws:s3/bucketV2:BucketV2")
	checks := map[string]any{
		"internal": false, "dropInvalidHeaderFields": true, "enableDeletionProtection": true,
		"accessLogs.enabled": true, "accessLogs.bucket": bucket.ID, "loadBalancerType": "application",
	}
	for path, want := range checks {
		if got := componenttest.Get(alb.Inputs, path); got != want {
			t.Errorf("alb %s = %v, want %v", path, got, want)
		}
	}
	if sgs := componenttest.Get(alb.Inputs, "securityGroups"); len(sgs.([]any)) != 1 {
		t.Errorf("alb security groups = %v", sgs)
	}

	listeners := res.ByType("aws:lb/listener:Listener")
	if len(listeners) != 2 {
		t.Fatalf("%d listeners, want 2", len(listeners))
	}
	for _, l := range listeners {
		actions := l.Inputs["defaultActions"].([]any)
		switch l.Inputs["port"] {
		case float64(443):
			if l.Inputs["protocol"] != "HTTPS" || l.Inputs["sslPolicy"] != TLSPolicy || l.Inputs["certificateArn"] == nil {
				t.Errorf("HTTPS listener %v", l.Inputs)
			}
			if componenttest.Get(actions, "0.type") != "forward" {
				t.Errorf("HTTPS listener actions %v", actions)
			}
		case float64(80):
			if len(actions) != 1 || componenttest.Get(actions, "0.type") != "redirect" ||
				componenttest.Get(actions, "0.redirect.protocol") != "HTTPS" || componenttest.Get(actions, "0.redirect.port") != "443" {
				t.Errorf("HTTP listener must only redirect to HTTPS: %v", actions)
			}
		default:
			t.Errorf("unexpected listener port %v", l.Inputs["port"])
		}
	}
	if !strings.Contains(TLSPolicy, "TLS13-1-2") {
		t.Errorf("TLS policy %s allows versions below 1.2", TLSPolicy)
	}

	tg := componenttest.One(t, res, "aws:lb/targetGroup:TargetGroup")
	for path, want := range map[string]any{
		"protocol": "HTTPS", "port": float64(8080), "deregistrationDelay": float64(30),
		"healthCheck.path": "/health", "healthCheck.protocol": "HTTPS", "healthCheck.enabled": true,
	} {
		if got := componenttest.Get(tg.Inputs, path); got != want {
			t.Errorf("target group %s = %v, want %v", path, got, want)
		}
	}

	sse := componenttest.One(t, res, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
	if componenttest.Get(sse.Inputs, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm") != "AES256" {
		t.Errorf("access-log bucket not encrypted: %v", sse.Inputs)
	}
	pab := componenttest.One(t, res, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab.Inputs[k] != true {
			t.Errorf("public access block %s = %v", k, pab.Inputs[k])
		}
	}
	pol := componenttest.One(t, res, "aws:s3/bucketPolicy:BucketPolicy").Inputs["policy"].(string)
	if !strings.Contains(pol, `"aws:SecureTransport":"false"`) || !strings.Contains(pol, "156460612806") {
		t.Errorf("bucket policy must deny plain HTTP and allow only the regional ELB account: %s", pol)
	}
}

func TestStagingMayDelete(t *testing.T) {
	res := build(t, false)
	alb := componenttest.One(t, res, "aws:lb/loadBalancer:LoadBalancer")
	if alb.Inputs["enableDeletionProtection"] != false {
		t.Errorf("deletion protection = %v", alb.Inputs["enableDeletionProtection"])
	}
}

func TestNeedsCertificate(t *testing.T) {
	err := componenttest.RunErr(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "lb", &Args{Region: "eu-west-1"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v", err)
	}
}
