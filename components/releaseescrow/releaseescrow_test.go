package releaseescrow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
)

func TestEscrow(t *testing.T) {
	res := componenttest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "prod-escrow", &Args{
			Readers: map[string]pulumi.StringInput{
				"worker": pulumi.String("arn:aws:iam::123456789012:role/worker"),
				"app":    pulumi.String("arn:aws:iam::123456789012:role/app"),
			},
			Protect: true, Tags: componenttest.Tags(),
		})
		return err
	})
	componenttest.AssertFamily(t, res, TypeToken)
	if n := len(res.Resources); n != 8 {
		t.Errorf("resources: %d, want 8 (the component, the bucket and its 6 settings)", n)
	}
	b := componenttest.One(t, res, "aws:s3/bucketV2:BucketV2")
	if !b.Protect || b.Inputs["forceDestroy"] != false {
		t.Errorf("a protected escrow: protect %v forceDestroy %v", b.Protect, b.Inputs["forceDestroy"])
	}
	for typ, want := range map[string]map[string]any{
		"aws:s3/bucketVersioningV2:BucketVersioningV2": {"versioningConfiguration.status": "Enabled"},
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
			"rules.0.applyServerSideEncryptionByDefault.sseAlgorithm": "AES256"},
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {"blockPublicAcls": true, "blockPublicPolicy": true,
			"ignorePublicAcls": true, "restrictPublicBuckets": true},
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {"rule.objectOwnership": "BucketOwnerEnforced"},
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
			"rules.0.noncurrentVersionExpiration.noncurrentDays": float64(30), "rules.0.filter.prefix": Prefix,
			"rules.0.abortIncompleteMultipartUpload.daysAfterInitiation": float64(1)},
	} {
		r := componenttest.One(t, res, typ)
		for path, v := range want {
			if got := componenttest.Get(r.Inputs, path); got != v {
				t.Errorf("%s %s = %v, want %v", typ, path, got, v)
			}
		}
	}

	// The readers may GET under artifacts/ only; everything not over TLS is refused.
	pol := componenttest.One(t, res, "aws:s3/bucketPolicy:BucketPolicy")
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Principal map[string]any
			Action    []string
			Resource  []string
		}
	}
	if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 {
		t.Fatalf("statements: %+v", doc.Statement)
	}
	read, tls := doc.Statement[0], doc.Statement[1]
	if read.Effect != "Allow" || strings.Join(read.Action, ",") != "s3:GetObject,s3:GetObjectVersion" ||
		len(read.Resource) != 1 || !strings.HasSuffix(read.Resource[0], "/artifacts/*") {
		t.Errorf("reader grant: %+v", read)
	}
	roles, _ := read.Principal["AWS"].([]any)
	if len(roles) != 2 || roles[0] != "arn:aws:iam::123456789012:role/app" || roles[1] != "arn:aws:iam::123456789012:role/worker" {
		t.Errorf("reader roles (name order): %v", read.Principal)
	}
	if tls.Effect != "Deny" || tls.Sid != "DenyInsecureTransport" {
		t.Errorf("TLS statement: %+v", tls)
	}
}

func TestEscrowRejectsBadArgs(t *testing.T) {
	for name, args := range map[string]*Args{
		"nil":        nil,
		"no readers": {},
		"nil reader": {Readers: map[string]pulumi.StringInput{"app": nil}},
		"days":       {Readers: map[string]pulumi.StringInput{"app": pulumi.String("arn")}, NoncurrentDays: -1},
	} {
		err := componenttest.RunErr(func(ctx *pulumi.Context) error {
			_, err := New(ctx, "e", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "releaseescrow e") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
