package lb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// ALBAPI is the part of the ELBv2 API the drainer uses.
type ALBAPI interface {
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, opts ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, opts ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// ALB drains hosts from ALB target groups: deregister and wait out the deregistration delay (the target
// leaves "draining"), register and wait for "healthy". Hosts are targets by TargetID (instance id).
type ALB struct {
	API ALBAPI
	// TargetGroups maps a tier to its target group ARN.
	TargetGroups map[string]string
	// Port of the targets (0: the host's service port).
	Port         int32
	DrainTimeout time.Duration // default 6 minutes (the ALB's deregistration delay is 300s by default)
	UpTimeout    time.Duration // default 5 minutes
	Poll         time.Duration // default 5s
}

func (a ALB) target(tier string, h inventory.Host) (string, types.TargetDescription, error) {
	arn := a.TargetGroups[tier]
	if arn == "" {
		return "", types.TargetDescription{}, fmt.Errorf("alb: tier %s has no target group", tier)
	}
	if h.TargetID == "" {
		return "", types.TargetDescription{}, fmt.Errorf("alb: host %s has no target id (instance id)", h.Name)
	}
	td := types.TargetDescription{Id: aws.String(h.TargetID)}
	port := a.Port
	if port == 0 && h.Port > 0 {
		port = int32(h.Port)
	}
	if port > 0 {
		td.Port = aws.Int32(port)
	}
	return arn, td, nil
}

// Drain deregisters the host and waits until it has finished draining.
func (a ALB) Drain(ctx context.Context, tier string, h inventory.Host) error {
	arn, td, err := a.target(tier, h)
	if err != nil {
		return err
	}
	if _, err := a.API.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: []types.TargetDescription{td}}); err != nil {
		return fmt.Errorf("alb drain %s: %w", h.Name, err)
	}
	err = poll(ctx, or(a.Poll, 5*time.Second), or(a.DrainTimeout, 6*time.Minute), func() (bool, error) {
		state, err := a.state(ctx, arn, td)
		if err != nil {
			return false, err
		}
		return state != types.TargetHealthStateEnumDraining, nil
	})
	if err != nil {
		return fmt.Errorf("alb drain %s: %w", h.Name, err)
	}
	return nil
}

// Enable registers the host and waits until the target group reports it healthy.
func (a ALB) Enable(ctx context.Context, tier string, h inventory.Host) error {
	arn, td, err := a.target(tier, h)
	if err != nil {
		return err
	}
	if _, err := a.API.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: []types.TargetDescription{td}}); err != nil {
		return fmt.Errorf("alb enable %s: %w", h.Name, err)
	}
	err = poll(ctx, or(a.Poll, 5*time.Second), or(a.UpTimeout, 5*time.Minute), func() (bool, error) {
		state, err := a.state(ctx, arn, td)
		if err != nil {
			return false, err
		}
		if state == types.TargetHealthStateEnumUnhealthy {
			return false, nil // checks may still be converging: keep waiting until the timeout
		}
		return state == types.TargetHealthStateEnumHealthy, nil
	})
	if err != nil {
		return fmt.Errorf("alb enable %s: waiting for healthy: %w", h.Name, err)
	}
	return nil
}

func (a ALB) state(ctx context.Context, arn string, td types.TargetDescription) (types.TargetHealthStateEnum, error) {
	out, err := a.API.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn), Targets: []types.TargetDescription{td}})
	if err != nil {
		return "", err
	}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target != nil && aws.ToString(d.Target.Id) == aws.ToString(td.Id) && d.TargetHealth != nil {
			return d.TargetHealth.State, nil
		}
	}
	return "", errors.New("target not described")
}
