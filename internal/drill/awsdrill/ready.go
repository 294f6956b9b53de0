package awsdrill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	rgttypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/plinth-dev/plinth/environments"
)

// ELBAPI is the ELBv2 calls the drill makes.
type ELBAPI interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// LoadBalancer finds the drill's load balancer by its tag and waits until it can serve: Address returns its
// HTTPS URL once every Auto Scaling group tagged with the drill id has its desired count of InService
// instances and every target of those groups' target groups is healthy.
type LoadBalancer struct {
	Tagging     TaggingAPI
	AutoScaling AutoScalingAPI
	ELB         ELBAPI
	// Interval between polls (default 15s); Timeout bounds the wait (default 30 minutes: instances boot
	// and pass their health checks).
	Interval time.Duration
	Timeout  time.Duration
	Log      func(format string, args ...any)
}

// Address waits until the drill's tiers serve and returns https://<the drill load balancer's DNS name>.
func (b *LoadBalancer) Address(ctx context.Context, id string) (string, error) {
	interval, timeout := b.Interval, b.Timeout
	if interval <= 0 {
		interval = 15 * time.Second
	}
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		dns, waiting, err := b.check(ctx, id)
		switch {
		case err != nil:
			return "", err
		case len(waiting) == 0:
			return "https://" + dns, nil
		}
		if w := strings.Join(waiting, "; "); w != last && b.Log != nil {
			b.Log("drill %s: waiting for %s", id, w)
			last = w
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("drill %s not serving after %s: %s", id, timeout, strings.Join(waiting, "; "))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("drill %s: waiting for %s: %w", id, strings.Join(waiting, "; "), ctx.Err())
		case <-time.After(interval):
		}
	}
}

// check returns the load balancer's DNS name and what is not ready yet (nothing: it serves).
func (b *LoadBalancer) check(ctx context.Context, id string) (string, []string, error) {
	lb, err := b.loadBalancer(ctx, id)
	if err != nil {
		return "", nil, err
	}
	var waiting []string
	if s := lb.State; s == nil || s.Code != elbtypes.LoadBalancerStateEnumActive {
		waiting = append(waiting, fmt.Sprintf("load balancer %s to be active (is %s)", aws.ToString(lb.LoadBalancerName), stateOf(lb.State)))
	}
	groups, err := taggedGroups(ctx, b.AutoScaling, id)
	if err != nil {
		return "", nil, fmt.Errorf("drill %s: list its auto scaling groups: %w", id, err)
	}
	if len(groups) == 0 {
		return "", nil, fmt.Errorf("drill %s: no auto scaling group is tagged %s=%s", id, environments.DrillTag, id)
	}
	var targetGroups []string
	for _, g := range groups {
		if w := inService(g); w != "" {
			waiting = append(waiting, w)
		}
		for _, tg := range g.TargetGroupARNs {
			if !slices.Contains(targetGroups, tg) {
				targetGroups = append(targetGroups, tg)
			}
		}
	}
	if len(targetGroups) == 0 {
		return "", nil, fmt.Errorf("drill %s: none of its auto scaling groups is in a target group of its load balancer", id)
	}
	for _, tg := range targetGroups {
		w, err := b.healthy(ctx, tg)
		if err != nil {
			return "", nil, err
		}
		waiting = append(waiting, w...)
	}
	return aws.ToString(lb.DNSName), waiting, nil
}

// loadBalancer is the one load balancer tagged plinth:drill=<id>.
func (b *LoadBalancer) loadBalancer(ctx context.Context, id string) (*elbtypes.LoadBalancer, error) {
	var arns []string
	p := rgt.NewGetResourcesPaginator(b.Tagging, &rgt.GetResourcesInput{
		ResourceTypeFilters: []string{"elasticloadbalancing:loadbalancer"},
		TagFilters:          []rgttypes.TagFilter{{Key: aws.String(environments.DrillTag), Values: []string{id}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drill %s: find its load balancer by tag: %w", id, err)
		}
		for _, r := range page.ResourceTagMappingList {
			arns = append(arns, aws.ToString(r.ResourceARN))
		}
	}
	switch len(arns) {
	case 0:
		return nil, fmt.Errorf("drill %s: no load balancer is tagged %s=%s", id, environments.DrillTag, id)
	case 1:
	default:
		return nil, fmt.Errorf("drill %s: %d load balancers are tagged %s=%s (%s): which one serves is ambiguous", id, len(arns),
			environments.DrillTag, id, strings.Join(arns, ", "))
	}
	out, err := b.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: arns})
	if err != nil {
		return nil, fmt.Errorf("describe load balancer %s: %w", arns[0], err)
	}
	if len(out.LoadBalancers) != 1 || aws.ToString(out.LoadBalancers[0].DNSName) == "" {
		return nil, fmt.Errorf("load balancer %s: not described, or no DNS name", arns[0])
	}
	return &out.LoadBalancers[0], nil
}

// inService says what group g still waits for ("" when its desired count of instances is InService).
func inService(g astypes.AutoScalingGroup) string {
	want := int(aws.ToInt32(g.DesiredCapacity))
	n := 0
	var others []string
	for _, i := range g.Instances {
		if i.LifecycleState == astypes.LifecycleStateInService {
			n++
		} else {
			others = append(others, aws.ToString(i.InstanceId)+" "+string(i.LifecycleState))
		}
	}
	if n >= want && want > 0 {
		return ""
	}
	w := fmt.Sprintf("auto scaling group %s: %d of %d instances InService", aws.ToString(g.AutoScalingGroupName), n, want)
	if len(others) > 0 {
		w += " (" + strings.Join(others, ", ") + ")"
	}
	return w
}

// healthy lists the targets of tg that are not healthy (none registered counts as waiting).
func (b *LoadBalancer) healthy(ctx context.Context, tg string) ([]string, error) {
	out, err := b.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	var nf *elbtypes.TargetGroupNotFoundException
	switch {
	case errors.As(err, &nf):
		return nil, fmt.Errorf("target group %s: not found", tg)
	case err != nil:
		return nil, fmt.Errorf("target health of %s: %w", tg, err)
	}
	if len(out.TargetHealthDescriptions) == 0 {
		return []string{"target group " + tg + ": no targets registered"}, nil
	}
	var waiting []string
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth == nil || d.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
			id := ""
			if d.Target != nil {
				id = aws.ToString(d.Target.Id)
			}
			state := "unknown"
			if d.TargetHealth != nil {
				state = string(d.TargetHealth.State)
				if r := d.TargetHealth.Reason; r != "" {
					state += " (" + string(r) + ")"
				}
			}
			waiting = append(waiting, fmt.Sprintf("target %s of %s: %s", id, tg, state))
		}
	}
	return waiting, nil
}

func stateOf(s *elbtypes.LoadBalancerState) string {
	if s == nil {
		return "unknown"
	}
	return string(s.Code)
}
