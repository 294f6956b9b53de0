// Package awsdrill is what an AWS drill asks of the DR region besides its database (internal/drill/rdsdrill):
// the leftover check after teardown — every resource still tagged plinth:drill=<id>, through the Resource
// Groups Tagging API plus the Auto Scaling groups that API does not list — and the drill load balancer's
// readiness: the drill's Auto Scaling groups at their desired count of InService instances, every target of
// their target groups healthy, and the load balancer's DNS name, all found by the drill tag. The clients
// are small interfaces (the SDK's, in the DR region); the executor only sees a drill.TearDowner and an
// address.
package awsdrill

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	rgttypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/plinth-dev/plinth/environments"
)

// TaggingAPI is the Resource Groups Tagging API call the drill makes.
type TaggingAPI interface {
	GetResources(ctx context.Context, in *rgt.GetResourcesInput, opts ...func(*rgt.Options)) (*rgt.GetResourcesOutput, error)
}

// AutoScalingAPI is the Auto Scaling call the drill makes.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// EC2API is the EC2 call the leftover check makes: the Tagging API keeps listing terminated instances for a
// while, and a terminated instance is not left behind.
type EC2API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Leftovers is the drill's last teardown on AWS: it removes nothing (the drill stack and database remove
// their own), it lists by ARN everything in the DR region still tagged plinth:drill=<id>. It goes first in
// the Env's teardown list so that it runs after every other teardown.
type Leftovers struct {
	Tagging     TaggingAPI
	AutoScaling AutoScalingAPI
	// EC2 drops terminated instances from the list (nil: every listed instance counts).
	EC2 EC2API
	// Region names the DR region in messages.
	Region string
}

// Teardown implements drill.TearDowner: the list of what is still tagged with id. A listing that fails
// names itself as left (a drill cannot prove it is clean without it).
func (l Leftovers) Teardown(ctx context.Context, id string) ([]string, error) {
	return l.List(ctx, id)
}

// List returns the ARNs of the resources tagged plinth:drill=<id>: the Tagging API's, then the Auto Scaling
// groups'.
func (l Leftovers) List(ctx context.Context, id string) ([]string, error) {
	left := []string{}
	p := rgt.NewGetResourcesPaginator(l.Tagging, &rgt.GetResourcesInput{
		TagFilters: []rgttypes.TagFilter{{Key: aws.String(environments.DrillTag), Values: []string{id}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return append(left, l.what("resources", id)), fmt.Errorf("list %s: %w", l.what("resources", id), err)
		}
		for _, r := range page.ResourceTagMappingList {
			left = append(left, aws.ToString(r.ResourceARN))
		}
	}
	left, err := l.dropTerminated(ctx, left)
	if err != nil {
		return left, err
	}
	groups, err := taggedGroups(ctx, l.AutoScaling, id)
	if err != nil {
		return append(left, l.what("auto scaling groups", id)), fmt.Errorf("list %s: %w", l.what("auto scaling groups", id), err)
	}
	for _, g := range groups {
		left = append(left, aws.ToString(g.AutoScalingGroupARN))
	}
	return left, nil
}

// dropTerminated removes the EC2 instances that are terminated from arns.
func (l Leftovers) dropTerminated(ctx context.Context, arns []string) ([]string, error) {
	if l.EC2 == nil {
		return arns, nil
	}
	var ids []string
	for _, a := range arns {
		if id, ok := instanceID(a); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return arns, nil
	}
	gone := map[string]bool{}
	p := ec2.NewDescribeInstancesPaginator(l.EC2, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return arns, fmt.Errorf("describe the drill's instances %s: %w", strings.Join(ids, ", "), err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				if i.State != nil && i.State.Name == ec2types.InstanceStateNameTerminated {
					gone[aws.ToString(i.InstanceId)] = true
				}
			}
		}
	}
	return slices.DeleteFunc(arns, func(a string) bool {
		id, ok := instanceID(a)
		return ok && gone[id]
	}), nil
}

// instanceID is the instance id of an EC2 instance ARN (arn:aws:ec2:REGION:ACCOUNT:instance/i-...).
func instanceID(arn string) (string, bool) {
	_, id, ok := strings.Cut(arn, ":instance/")
	return id, ok && strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":ec2:")
}

func (l Leftovers) what(kind, id string) string {
	return fmt.Sprintf("%s tagged %s=%s in %s (not listed)", kind, environments.DrillTag, id, l.Region)
}

// taggedGroups lists the Auto Scaling groups tagged plinth:drill=<id>.
func taggedGroups(ctx context.Context, api AutoScalingAPI, id string) ([]astypes.AutoScalingGroup, error) {
	var out []astypes.AutoScalingGroup
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(api, &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{{Name: aws.String("tag:" + environments.DrillTag), Values: []string{id}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.AutoScalingGroups...)
	}
	return out, nil
}

// NewTagging is the Tagging API client the drill uses, speaking AWS JSON 1.1: the protocol the API has
// always served (and moto's server speaks), rather than the SDK's newer default, Smithy RPC v2 CBOR.
func NewTagging(cfg aws.Config) *rgt.Client {
	return rgt.NewFromConfig(cfg, func(o *rgt.Options) {
		o.Protocol = awsjson.New11(schemas.ResourceGroupsTaggingAPI_20170126)
	})
}
