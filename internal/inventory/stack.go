package inventory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/plinth-dev/plinth/stacks/contract"
)

// Outputs is the `inventory` stack output: the one contract the Pulumi program exports (stacks/contract).
type Outputs = contract.Inventory

// ParseOutputs extracts the `inventory` object from a stack's outputs.
func ParseOutputs(outputs map[string]any) (*Outputs, error) {
	out, err := contract.Parse(outputs)
	if err != nil {
		return nil, fmt.Errorf("stack outputs: %w", err)
	}
	return out, nil
}

// ASGAPI is the part of the Auto Scaling API the stack source uses.
type ASGAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// EC2API is the part of the EC2 API the stack source uses.
type EC2API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Stack resolves a stack's `inventory` output into hosts: every InService instance of each tier's ASG,
// addressed by its private IP (reached through the bastion).
type Stack struct {
	Outputs func(ctx context.Context, stack string) (map[string]any, error)
	ASG     ASGAPI
	EC2     EC2API
	// Tiers limits which tiers are resolved (nil: all).
	Tiers []string
}

// Inventory implements Source.
func (s Stack) Inventory(ctx context.Context, stack string) (*Inventory, error) {
	outputs, err := s.Outputs(ctx, stack)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", stack, err)
	}
	out, err := ParseOutputs(outputs)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", stack, err)
	}
	inv := &Inventory{Stack: stack, User: out.Bastion.SSHUser, Tiers: map[string]*Tier{}}
	if e := out.ReleaseEscrow; e != nil && e.Bucket != "" {
		inv.ReleaseEscrow = &ReleaseEscrow{Bucket: e.Bucket, Region: e.Region}
	}
	if out.Bastion.Address != "" {
		inv.Bastion = &Bastion{Host: Host{Name: "bastion", Address: out.Bastion.Address}}
	}
	want := map[string]bool{}
	for _, t := range s.Tiers {
		want[t] = true
	}
	names := make([]string, 0, len(out.Tiers))
	for n := range out.Tiers {
		if len(want) == 0 || want[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		spec := out.Tiers[name]
		tier := &Tier{Name: name, Port: spec.Port, Min: spec.Min, TargetGroupARN: spec.TargetGroupARN}
		if spec.ASGName != "" {
			hosts, err := s.asgHosts(ctx, spec.ASGName)
			if err != nil {
				return nil, fmt.Errorf("inventory %s tier %s: %w", stack, name, err)
			}
			tier.Hosts = hosts
		}
		inv.Tiers[name] = tier
	}
	if err := inv.Normalize(); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", stack, err)
	}
	return inv, nil
}

func (s Stack) asgHosts(ctx context.Context, asgName string) ([]Host, error) {
	if s.ASG == nil || s.EC2 == nil {
		return nil, errors.New("no cloud API clients")
	}
	asgOut, err := s.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{asgName},
	})
	if err != nil {
		return nil, fmt.Errorf("describe ASG %s: %w", asgName, err)
	}
	var ids []string
	for _, g := range asgOut.AutoScalingGroups {
		for _, in := range g.Instances {
			if in.InstanceId == nil || in.LifecycleState != "InService" {
				continue
			}
			ids = append(ids, *in.InstanceId)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sort.Strings(ids)
	ipByID := map[string]string{}
	p := ec2.NewDescribeInstancesPaginator(s.EC2, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				if in.InstanceId != nil && in.PrivateIpAddress != nil {
					ipByID[*in.InstanceId] = *in.PrivateIpAddress
				}
			}
		}
	}
	hosts := make([]Host, 0, len(ids))
	for _, id := range ids {
		ip, ok := ipByID[id]
		if !ok {
			return nil, fmt.Errorf("instance %s: no private IP", id)
		}
		hosts = append(hosts, Host{Name: id, Address: net.JoinHostPort(ip, "22"), TargetID: id})
	}
	return hosts, nil
}
