package cloud

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go/logging"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// AWSCloud is a stack in AWS: hosts from its Auto Scaling groups, the database and vault its inventory names.
type AWSCloud struct {
	// LoadConfig loads the SDK config for a region (default: the shared config chain, SDK logging off).
	LoadConfig func(ctx context.Context, region string) (aws.Config, error)
	// DrainPoll is the interval of the ALB drainer's target health polls (0: its default).
	DrainPoll time.Duration
}

// NewAWS returns the AWS cloud with the default config chain.
func NewAWS() AWSCloud { return AWSCloud{} }

// Name is AWS.
func (AWSCloud) Name() string { return AWS }

// Config loads the SDK config for stack in region and checks that it has credentials, so a machine without
// any gets one line naming the stack (and no SDK log lines, such as the IMDS fallback warning).
func (c AWSCloud) Config(ctx context.Context, stack, region string) (aws.Config, error) {
	load := c.LoadConfig
	if load == nil {
		load = func(ctx context.Context, region string) (aws.Config, error) {
			return config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithLogger(logging.Nop{}),
				config.WithClientLogMode(0))
		}
	}
	cfg, err := load(ctx, region)
	if err != nil {
		return cfg, fmt.Errorf("stack %s: aws config: %w", stack, err)
	}
	if cfg.Credentials == nil {
		return cfg, fmt.Errorf("stack %s lives in aws: %w: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", stack, ErrNoCredentials)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return cfg, fmt.Errorf("stack %s lives in aws: %w: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or run where an instance role applies)", stack, ErrNoCredentials)
	}
	return cfg, nil
}

// Hosts resolves every InService instance of each tier's Auto Scaling group.
func (c AWSCloud) Hosts(ctx context.Context, stack string, outputs map[string]any) (*inventory.Inventory, error) {
	parsed, err := inventory.ParseOutputs(outputs)
	if err != nil {
		return nil, err
	}
	cfg, err := c.Config(ctx, stack, parsed.Region)
	if err != nil {
		return nil, err
	}
	src := inventory.Stack{
		Outputs: func(context.Context, string) (map[string]any, error) { return outputs, nil },
		ASG:     autoscaling.NewFromConfig(cfg),
		EC2:     ec2.NewFromConfig(cfg),
	}
	return src.Inventory(ctx, stack)
}

// DatabaseAddr is the writer endpoint the inventory names.
func (AWSCloud) DatabaseAddr(stack string, inv *contract.Inventory) (string, error) {
	return databaseAddr(stack, inv)
}

// BackupStore is the vault bucket the inventory names, under the stack's prefix.
func (AWSCloud) BackupStore(stack string, inv *contract.Inventory) (string, error) {
	return backupStore(stack, inv)
}

// ALBDrainer drains the tiers' hosts through their ALB target groups (tier -> target group ARN); region ""
// is the SDK's default region.
func (c AWSCloud) ALBDrainer(ctx context.Context, stack, region string, targetGroups map[string]string) (deploy.Drainer, error) {
	cfg, err := c.Config(ctx, stack, region)
	if err != nil {
		return nil, err
	}
	return lb.ALB{API: elbv2.NewFromConfig(cfg), TargetGroups: targetGroups, Poll: c.DrainPoll}, nil
}
