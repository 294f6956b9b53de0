package awsdrill

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	rgt "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	"github.com/plinth-dev/plinth/internal/awstest"
)

const (
	region  = "eu-central-1"
	drillID = "drill-20261203T030000Z"
)

// drillStack is what a drill stack holds in moto's DR region: a load balancer, the app tier's target group
// and Auto Scaling group (2 instances, registered in the target group by Auto Scaling), every one tagged
// plinth:drill=<id>, inside an untagged VPC (production's DR network).
type drillStack struct {
	ec2     *ec2.Client
	asg     *autoscaling.Client
	elb     *elbv2.Client
	tag     *rgt.Client
	lbARN   string
	subnets []string
	tgARN   string
	group   string
}

func newDrillStack(t *testing.T, m *awstest.Server, id string) *drillStack {
	t.Helper()
	ctx := context.Background()
	cfg := m.Config(region)
	s := &drillStack{ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg),
		tag: NewTagging(cfg), group: "production-" + strings.ToLower(id) + "-app"}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, m.Log())
		}
	}
	vpc, err := s.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	must("vpc", err)
	var subnets []string
	for i, az := range []string{"eu-central-1a", "eu-central-1b"} {
		sn, err := s.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, AvailabilityZone: aws.String(az),
			CidrBlock: aws.String(fmt.Sprintf("10.20.%d.0/24", i))})
		must("subnet", err)
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	elbTags := []elbtypes.Tag{{Key: aws.String("plinth:drill"), Value: aws.String(id)}}
	lb, err := s.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("drill-lb"), Subnets: subnets, Tags: elbTags})
	must("load balancer", err)
	s.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	tg, err := s.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("drill-app"), VpcId: vpc.Vpc.VpcId,
		Port: aws.Int32(8443), Protocol: elbtypes.ProtocolEnumHttps, Tags: elbTags})
	must("target group", err)
	s.tgARN = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	images, err := s.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	must("images", err)
	if len(images.Images) == 0 {
		t.Fatal("moto lists no AMI")
	}
	lt, err := s.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("drill-app"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Small}})
	must("launch template", err)
	_, err = s.asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(s.group),
		MinSize: aws.Int32(2), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(2), VPCZoneIdentifier: aws.String(strings.Join(subnets, ",")),
		LaunchTemplate:  &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Latest")},
		TargetGroupARNs: []string{s.tgARN},
		Tags: []astypes.Tag{{Key: aws.String("plinth:drill"), Value: aws.String(id), PropagateAtLaunch: aws.Bool(true),
			ResourceId: aws.String(s.group), ResourceType: aws.String("auto-scaling-group")}}})
	must("auto scaling group", err)
	s.subnets = subnets
	return s
}

func (s *drillStack) instances(t *testing.T) []string {
	t.Helper()
	out, err := s.asg.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{s.group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe %s: %v", s.group, err)
	}
	var ids []string
	for _, i := range out.AutoScalingGroups[0].Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	return ids
}

func (s *drillStack) loadBalancer(id string) *LoadBalancer {
	return &LoadBalancer{Tagging: s.tag, AutoScaling: s.asg, ELB: s.elb, Interval: 10 * time.Millisecond, Timeout: 300 * time.Millisecond}
}

// TestAddressWaitsForTheTiers: the drill load balancer, found by its tag, is given to the verify step once
// the drill's Auto Scaling group has its desired count InService and every target is healthy; a stopped
// target is named while waiting, and the wait ends when the target recovers. (moto brings a group to its
// desired count InService at once, replacing an instance put in Standby: TestInService covers that wait.)
func TestAddressWaitsForTheTiers(t *testing.T) {
	ctx := context.Background()
	m := awstest.Start(t)
	s := newDrillStack(t, m, drillID)
	lbs, err := s.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{s.lbARN}})
	if err != nil {
		t.Fatal(err)
	}
	want := "https://" + aws.ToString(lbs.LoadBalancers[0].DNSName)
	b := s.loadBalancer(drillID)
	if u, err := b.Address(ctx, drillID); err != nil || u != want {
		t.Fatalf("address %q, %v; want %s", u, err, want)
	}
	ids := s.instances(t)
	if len(ids) != 2 {
		t.Fatalf("instances %v", ids)
	}

	// A stopped instance is an unhealthy target; started again while Address waits, the wait ends.
	if _, err := s.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Address(ctx, drillID)
	if wantErr := "target " + ids[0] + " of " + s.tgARN + ": unused (Target.InvalidState)"; err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("stopped target: %v; want %q", err, wantErr)
	}
	var logged []string
	b.Timeout = 20 * time.Second
	b.Log = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	started := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := s.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids[:1]})
		started <- err
	}()
	if u, err := b.Address(ctx, drillID); err != nil || u != want {
		t.Errorf("after the start: %q, %v", u, err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "waiting for target "+ids[0]) {
		t.Errorf("logged %q, want one waiting line naming %s", logged, ids[0])
	}

	// Another drill's id finds no load balancer; two load balancers with one id are ambiguous.
	if _, err := b.Address(ctx, "drill-20261204T000000Z"); err == nil || !strings.Contains(err.Error(), "no load balancer is tagged plinth:drill=drill-20261204T000000Z") {
		t.Errorf("other id: %v", err)
	}
	if _, err := s.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("second-lb"), Subnets: s.subnets,
		Tags: []elbtypes.Tag{{Key: aws.String("plinth:drill"), Value: aws.String(drillID)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Address(ctx, drillID); err == nil || !strings.Contains(err.Error(), "2 load balancers are tagged") {
		t.Errorf("two load balancers: %v", err)
	}
}

// TestLeftoversAfterTeardown: before teardown the check lists the drill's instances, load balancer, target
// group and Auto Scaling group by ARN (not another drill's, not production's untagged VPC); after the drill
// stack's resources are deleted it lists nothing, twice (terminated instances the Tagging API still lists
// are dropped); a listing that fails is named as left.
func TestLeftoversAfterTeardown(t *testing.T) {
	ctx := context.Background()
	m := awstest.Start(t)
	s := newDrillStack(t, m, drillID)
	other := "drill-20261204T000000Z"
	if _, err := s.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("other-lb"), Subnets: s.subnets,
		Tags: []elbtypes.Tag{{Key: aws.String("plinth:drill"), Value: aws.String(other)}}}); err != nil {
		t.Fatal(err)
	}
	l := Leftovers{Tagging: s.tag, AutoScaling: s.asg, EC2: s.ec2, Region: region}
	left, err := l.List(ctx, drillID)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := s.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{s.group}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{s.lbARN, s.tgARN, aws.ToString(groups.AutoScalingGroups[0].AutoScalingGroupARN)}
	for _, id := range s.instances(t) {
		want = append(want, "arn:aws:ec2:"+region+":"+awstest.Account+":instance/"+id)
	}
	slices.Sort(want)
	slices.Sort(left)
	if !slices.Equal(left, want) {
		t.Fatalf("before teardown:\n got %q\nwant %q", left, want)
	}

	// The drill stack's teardown (what its engine destroy does): group, load balancer, target group.
	if _, err := s.asg.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(s.group), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(s.lbARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(s.tgARN)}); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		if left, err := l.Teardown(ctx, drillID); err != nil || len(left) != 0 {
			t.Errorf("after teardown %d: left %q, %v", round, left, err)
		}
	}
	// Without EC2 the terminated instances the Tagging API still lists would count.
	if left, err := (Leftovers{Tagging: s.tag, AutoScaling: s.asg}).List(ctx, drillID); err != nil || len(left) != 2 {
		t.Errorf("without the EC2 check: %q, %v (moto lists the 2 terminated instances)", left, err)
	}
	// The other drill's load balancer is still listed under its own id.
	if left, err := l.List(ctx, other); err != nil || len(left) != 1 || !strings.Contains(left[0], "loadbalancer/app/other-lb/") {
		t.Errorf("other drill: %q, %v", left, err)
	}

	// An unreachable Tagging API: the check names what it could not list.
	m.Stop()
	left, err = l.List(ctx, drillID)
	if err == nil || len(left) != 1 || left[0] != "resources tagged plinth:drill="+drillID+" in "+region+" (not listed)" {
		t.Errorf("unreachable: %q, %v", left, err)
	}
}

// TestInService: what a group still waits for, from its description (moto never shows a group short of its
// desired count InService).
func TestInService(t *testing.T) {
	inst := func(id string, st astypes.LifecycleState) astypes.Instance {
		return astypes.Instance{InstanceId: aws.String(id), LifecycleState: st}
	}
	for _, tc := range []struct {
		desired   int32
		instances []astypes.Instance
		want      string
	}{
		{2, []astypes.Instance{inst("i-1", astypes.LifecycleStateInService), inst("i-2", astypes.LifecycleStateInService)}, ""},
		{2, []astypes.Instance{inst("i-1", astypes.LifecycleStateInService), inst("i-2", astypes.LifecycleStatePending)},
			"auto scaling group g: 1 of 2 instances InService (i-2 Pending)"},
		{2, []astypes.Instance{inst("i-1", astypes.LifecycleStateInService), inst("i-2", astypes.LifecycleStateStandby),
			inst("i-3", astypes.LifecycleStateInService)}, ""},
		{1, nil, "auto scaling group g: 0 of 1 instances InService"},
		{0, nil, "auto scaling group g: 0 of 0 instances InService"}, // a drill tier scaled to nothing serves nothing
	} {
		g := astypes.AutoScalingGroup{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(tc.desired), Instances: tc.instances}
		if got := inService(g); got != tc.want {
			t.Errorf("desired %d, %v: %q, want %q", tc.desired, tc.instances, got, tc.want)
		}
	}
}
