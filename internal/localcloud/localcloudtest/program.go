// Package localcloudtest holds a small Pulumi program over aws and gcp resource types for tests of the engine
// against the local cloud. It registers resources by type token (no provider SDK to compile), with explicit
// providers as the real program has.
package localcloudtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Spec is the test program's `plinth:spec` config object.
type Spec struct {
	Region    string `json:"region"`
	DRRegion  string `json:"drRegion"`
	Project   string `json:"project"`
	CIDR      string `json:"cidr"`
	AppCount  int    `json:"appCount"`
	BucketTag string `json:"bucketTag"`
}

// StackConfig returns a stack settings file with spec as plinth:spec.
func StackConfig(region, cidr string, apps int) []byte {
	return fmt.Appendf(nil, `config:
  plinth:spec:
    region: %s
    drRegion: eu-central-1
    project: plinth-vault-test
    cidr: %s
    appCount: %d
    bucketTag: v1
`, region, cidr, apps)
}

type res struct{ pulumi.CustomResourceState }

// Program is the test program: a VPC, subnets, a load balancer, an autoscaling group per app, a bucket, and
// a GCP bucket and service account, exporting an `inventory` object shaped like the real one.
func Program(ctx *pulumi.Context) error {
	var spec Spec
	if err := config.New(ctx, "plinth").GetObject("spec", &spec); err != nil {
		return fmt.Errorf("plinth:spec: %w", err)
	}
	if spec.Region == "" {
		return fmt.Errorf("plinth:spec: region is required")
	}
	var primary, dr, vault pulumi.ProviderResourceState
	if err := ctx.RegisterResource("pulumi:providers:aws", "primary", pulumi.Map{"region": pulumi.String(spec.Region)},
		&primary, pulumi.Version("6.83.2")); err != nil {
		return err
	}
	if err := ctx.RegisterResource("pulumi:providers:aws", "dr", pulumi.Map{"region": pulumi.String(spec.DRRegion)},
		&dr, pulumi.Version("6.83.2")); err != nil {
		return err
	}
	if err := ctx.RegisterResource("pulumi:providers:gcp", "vault", pulumi.Map{"project": pulumi.String(spec.Project)},
		&vault, pulumi.Version("7.38.0")); err != nil {
		return err
	}
	awsOpt, drOpt, gcpOpt := pulumi.Provider(&primary), pulumi.Provider(&dr), pulumi.Provider(&vault)

	tags := pulumi.StringMap{"stack": pulumi.String(ctx.Stack())}
	var vpc res
	if err := ctx.RegisterResource("aws:ec2/vpc:Vpc", "main", pulumi.Map{
		"cidrBlock": pulumi.String(spec.CIDR), "tags": tags}, &vpc, awsOpt); err != nil {
		return err
	}
	var subnet res
	if err := ctx.RegisterResource("aws:ec2/subnet:Subnet", "app-a", pulumi.Map{
		"vpcId": vpc.ID(), "cidrBlock": pulumi.String("10.0.1.0/24"), "tags": tags}, &subnet, awsOpt); err != nil {
		return err
	}
	var lb res
	if err := ctx.RegisterResource("aws:lb/loadBalancer:LoadBalancer", "web", pulumi.Map{
		"subnets": pulumi.Array{subnet.ID()}, "tags": tags}, &lb, awsOpt); err != nil {
		return err
	}
	var tg res
	if err := ctx.RegisterResource("aws:lb/targetGroup:TargetGroup", "app", pulumi.Map{
		"port": pulumi.Int(8080), "protocol": pulumi.String("HTTP"), "vpcId": vpc.ID()}, &tg, awsOpt); err != nil {
		return err
	}
	var asg res
	if err := ctx.RegisterResource("aws:autoscaling/group:Group", "app", pulumi.Map{
		"minSize": pulumi.Int(spec.AppCount), "maxSize": pulumi.Int(spec.AppCount * 2),
		"desiredCapacity": pulumi.Int(spec.AppCount), "vpcZoneIdentifiers": pulumi.Array{subnet.ID()},
		"targetGroupArns": pulumi.Array{tg.ID()}}, &asg, awsOpt); err != nil {
		return err
	}
	var replicaBucket res
	if err := ctx.RegisterResource("aws:s3/bucketV2:BucketV2", "dr-artifacts", pulumi.Map{
		"tags": pulumi.StringMap{"version": pulumi.String(spec.BucketTag)}}, &replicaBucket, drOpt); err != nil {
		return err
	}
	var bucket, sa res
	if err := ctx.RegisterResource("gcp:storage/bucket:Bucket", "vault", pulumi.Map{
		"name": pulumi.String(ctx.Stack() + "-vault-bucket"), "location": pulumi.String("EU")}, &bucket, gcpOpt); err != nil {
		return err
	}
	if err := ctx.RegisterResource("gcp:serviceaccount/account:Account", "writer", pulumi.Map{
		"accountId": pulumi.String(ctx.Stack() + "-writer")}, &sa, gcpOpt); err != nil {
		return err
	}
	ctx.Export("inventory", pulumi.Map{
		"stack": pulumi.String(ctx.Stack()), "region": pulumi.String(spec.Region), "vpcId": vpc.ID(),
		"loadBalancer": pulumi.Map{"arn": lb.ID()},
		"tiers":        pulumi.Map{"app": pulumi.Map{"targetGroupArn": tg.ID(), "desired": pulumi.Int(spec.AppCount), "port": pulumi.Int(8080)}},
		"backupVault":  pulumi.Map{"bucket": bucket.ID(), "writerServiceAccount": sa.ID()},
	})
	return nil
}

// PulumiCLI finds the pinned CLI `make bin/pulumi` builds (or $PLINTH_PULUMI, or pulumi on PATH) for tests
// that run the real engine; it fails the test when there is none.
func PulumiCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PLINTH_PULUMI"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "bin", "pulumi")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			break
		}
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		return p
	}
	t.Fatal("pulumi CLI not found: run `make bin/pulumi` (make test does) or set PLINTH_PULUMI")
	return ""
}
