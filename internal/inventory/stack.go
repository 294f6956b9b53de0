package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Outputs is the `inventory` stack output (the contract the Pulumi program exports). Unknown and missing
// fields are tolerated: database/backupVault arrive later and are not needed to deploy.
type Outputs struct {
	Stack   string `json:"stack"`
	Region  string `json:"region"`
	Bastion struct {
		ASGName string `json:"asgName"`
		Address string `json:"address"`
		SSHUser string `json:"sshUser"`
	} `json:"bastion"`
	Tiers map[string]struct {
		ASGName        string `json:"asgName"`
		TargetGroupARN string `json:"targetGroupArn"`
		Min            int    `json:"min"`
		Desired        int    `json:"desired"`
		Port           int    `json:"port"`
	} `json:"tiers"`
}

// ParseOutputs extracts the `inventory` object from a stack's outputs.
func ParseOutputs(outputs map[string]any) (*Outputs, error) {
	raw, ok := outputs["inventory"]
	if !ok {
		return nil, errors.New("stack outputs: no `inventory` output")
	}
	var data []byte
	switch v := raw.(type) {
	case string:
		data = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("stack outputs: inventory: %w", err)
		}
		data = b
	}
	var out Outputs
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("stack outputs: inventory: %w", err)
	}
	return &out, nil
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
