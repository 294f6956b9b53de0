// Package localcloudtest holds a small Pulumi program over aws and gcp resources for tests of the engine
// against the local cloud, through the same provider SDKs as the real program, with explicit providers as the
// real program has.
package localcloudtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
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
	primary, err := aws.NewProvider(ctx, "primary", &aws.ProviderArgs{Region: pulumi.String(spec.Region)})
	if err != nil {
		return err
	}
	dr, err := aws.NewProvider(ctx, "dr", &aws.ProviderArgs{Region: pulumi.String(spec.DRRegion)})
	if err != nil {
		return err
	}
	vault, err := gcp.NewProvider(ctx, "vault", &gcp.ProviderArgs{Project: pulumi.String(spec.Project)})
	if err != nil {
		return err
	}
	awsOpt, drOpt, gcpOpt := pulumi.Provider(primary), pulumi.Provider(dr), pulumi.Provider(vault)

	tags := pulumi.StringMap{"stack": pulumi.String(ctx.Stack())}
	vpc, err := ec2.NewVpc(ctx, "main", &ec2.VpcArgs{CidrBlock: pulumi.String(spec.CIDR), Tags: tags}, awsOpt)
	if err != nil {
		return err
	}
	subnet, err := ec2.NewSubnet(ctx, "app-a", &ec2.SubnetArgs{
		VpcId: vpc.ID(), CidrBlock: pulumi.String("10.0.1.0/24"), Tags: tags}, awsOpt)
	if err != nil {
		return err
	}
	web, err := lb.NewLoadBalancer(ctx, "web", &lb.LoadBalancerArgs{
		Subnets: pulumi.StringArray{subnet.ID()}, Tags: tags}, awsOpt)
	if err != nil {
		return err
	}
	tg, err := lb.NewTargetGroup(ctx, "app", &lb.TargetGroupArgs{
		Port: pulumi.Int(8080), Protocol: pulumi.String("HTTP"), VpcId: vpc.ID()}, awsOpt)
	if err != nil {
		return err
	}
	if _, err := autoscaling.NewGroup(ctx, "app", &autoscaling.GroupArgs{
		MinSize: pulumi.Int(spec.AppCount), MaxSize: pulumi.Int(spec.AppCount * 2),
		DesiredCapacity: pulumi.Int(spec.AppCount), VpcZoneIdentifiers: pulumi.StringArray{subnet.ID()},
		TargetGroupArns: pulumi.StringArray{tg.ID()}}, awsOpt); err != nil {
		return err
	}
	if _, err := s3.NewBucketV2(ctx, "dr-artifacts", &s3.BucketV2Args{
		Tags: pulumi.StringMap{"version": pulumi.String(spec.BucketTag)}}, drOpt); err != nil {
		return err
	}
	bucket, err := storage.NewBucket(ctx, "vault", &storage.BucketArgs{
		Name: pulumi.String(ctx.Stack() + "-vault-bucket"), Location: pulumi.String("EU")}, gcpOpt)
	if err != nil {
		return err
	}
	sa, err := serviceaccount.NewAccount(ctx, "writer", &serviceaccount.AccountArgs{
		AccountId: pulumi.String(ctx.Stack() + "-writer")}, gcpOpt)
	if err != nil {
		return err
	}
	ctx.Export("inventory", pulumi.Map{
		"stack": pulumi.String(ctx.Stack()), "region": pulumi.String(spec.Region), "vpcId": vpc.ID(),
		"loadBalancer": pulumi.Map{"arn": web.ID()},
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
