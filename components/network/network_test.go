package network

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/internal/offline"
)

func TestSubnetCIDR(t *testing.T) {
	vpc := netip.MustParsePrefix("10.30.0.0/16")
	tests := []struct {
		class SubnetClass
		az    int
		want  string
	}{
		{Public, 0, "10.30.0.0/21"},
		{Public, 1, "10.30.8.0/21"},
		{Public, 2, "10.30.16.0/21"},
		{Private, 0, "10.30.64.0/21"},
		{Private, 5, "10.30.104.0/21"},
		{Data, 0, "10.30.128.0/21"},
		{Data, 7, "10.30.184.0/21"},
		{SubnetClass(3), 0, "10.30.192.0/21"},
	}
	for _, tt := range tests {
		got, err := SubnetCIDR(vpc, tt.class, tt.az)
		if err != nil || got.String() != tt.want {
			t.Errorf("SubnetCIDR(%s, %s, %d) = %v, %v; want %s", vpc, tt.class, tt.az, got, err, tt.want)
		}
	}
	small, err := SubnetCIDR(netip.MustParsePrefix("10.0.0.0/20"), Data, 2)
	if err != nil || small.String() != "10.0.9.0/25" {
		t.Errorf("/20 plan: %v %v", small, err)
	}
	for _, bad := range []struct {
		vpc   string
		class SubnetClass
		az    int
	}{
		{"10.0.0.0/24", Public, 0}, {"10.0.0.0/16", SubnetClass(4), 0}, {"10.0.0.0/16", Public, 8},
		{"10.0.0.0/16", SubnetClass(-1), 0}, {"fd00::/48", Public, 0},
	} {
		if _, err := SubnetCIDR(netip.MustParsePrefix(bad.vpc), bad.class, bad.az); err == nil {
			t.Errorf("SubnetCIDR(%s, %d, %d): want an error", bad.vpc, bad.class, bad.az)
		}
	}
}

// TestPlanIsDisjointAndStable: every subnet of the full plan lies in the VPC, none overlap, and growing the
// plan (more AZs, more classes) never changes an existing subnet.
func TestPlanIsDisjointAndStable(t *testing.T) {
	vpc := netip.MustParsePrefix("10.20.0.0/16")
	seen := map[netip.Prefix]string{}
	for class := SubnetClass(0); int(class) < MaxClasses; class++ {
		for az := 0; az < MaxAZs; az++ {
			p, err := SubnetCIDR(vpc, class, az)
			if err != nil {
				t.Fatal(err)
			}
			if !vpc.Contains(p.Addr()) {
				t.Errorf("%s outside %s", p, vpc)
			}
			for q, who := range seen {
				if q.Overlaps(p) {
					t.Errorf("%s (%s/%d) overlaps %s (%s)", p, class, az, q, who)
				}
			}
			seen[p] = fmt.Sprintf("%s/%d", class, az)
		}
	}
}

func build(azs int, perAZ bool) func(ctx *pulumi.Context) error {
	return func(ctx *pulumi.Context) error {
		_, err := New(ctx, "net", &Args{
			Region: "eu-west-1", CIDR: "10.30.0.0/16", AZCount: azs, PerAZNAT: perAZ, LogRetentionDays: 90,
			AccountID: pulumi.String("123456789012"), Tags: componenttest.Tags(),
		})
		return err
	}
}

func subnetCIDRs(res *offline.Result) map[string]string {
	out := map[string]string{}
	for _, sn := range res.ByType("aws:ec2/subnet:Subnet") {
		out[sn.Name] = sn.Inputs["cidrBlock"].(string)
	}
	return out
}

// TestAddingAnAZNeverRenumbers builds the network with 2, then 3, then 6 AZs: every subnet that existed keeps
// its CIDR (so Pulumi never replaces it).
func TestAddingAnAZNeverRenumbers(t *testing.T) {
	prev := subnetCIDRs(componenttest.Run(t, build(2, true)))
	if len(prev) != 6 {
		t.Fatalf("2 AZs: %d subnets, want 6", len(prev))
	}
	for _, azs := range []int{3, 6} {
		cur := subnetCIDRs(componenttest.Run(t, build(azs, true)))
		if len(cur) != 3*azs {
			t.Fatalf("%d AZs: %d subnets", azs, len(cur))
		}
		for name, cidr := range prev {
			if cur[name] != cidr {
				t.Errorf("%d AZs: subnet %s moved from %s to %q", azs, name, cidr, cur[name])
			}
		}
		prev = cur
	}
}

func TestNetwork(t *testing.T) {
	res := componenttest.Run(t, build(3, true))
	componenttest.AssertFamily(t, res, TypeToken)

	for _, sn := range res.ByType("aws:ec2/subnet:Subnet") {
		if sn.Inputs["mapPublicIpOnLaunch"] != false {
			t.Errorf("subnet %s maps public IPs on launch", sn.Name)
		}
	}
	if n := len(res.ByType("aws:ec2/natGateway:NatGateway")); n != 3 {
		t.Errorf("NAT per AZ: %d gateways, want 3", n)
	}
	// Private subnets route through their own AZ's NAT; data subnets have no route out at all.
	for _, rt := range res.ByType("aws:ec2/routeTable:RouteTable") {
		routes, _ := rt.Inputs["routes"].([]any)
		switch {
		case strings.Contains(rt.Name, "-data-rt-"):
			if len(routes) != 0 {
				t.Errorf("data route table %s has routes %v", rt.Name, routes)
			}
		case strings.Contains(rt.Name, "-private-rt-"):
			az := strings.TrimPrefix(rt.Name, "net-private-rt-")
			want := offline.Resource{}
			for _, nat := range res.ByType("aws:ec2/natGateway:NatGateway") {
				if strings.HasSuffix(nat.Name, az) {
					want = *nat
				}
			}
			if len(routes) != 1 || componenttest.Get(routes[0], "natGatewayId") != want.ID {
				t.Errorf("private route table %s: routes %v, want default via %s", rt.Name, routes, want.ID)
			}
		}
	}
	sg := componenttest.One(t, res, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
	if in, _ := sg.Inputs["ingress"].([]any); len(in) != 0 {
		t.Errorf("default SG ingress %v, want none", in)
	}
	if eg, _ := sg.Inputs["egress"].([]any); len(eg) != 0 {
		t.Errorf("default SG egress %v, want none", eg)
	}

	fl := componenttest.One(t, res, "aws:ec2/flowLog:FlowLog")
	lg := componenttest.One(t, res, "aws:cloudwatch/logGroup:LogGroup")
	key := componenttest.One(t, res, "aws:kms/key:Key")
	if fl.Inputs["trafficType"] != "ALL" || fl.Inputs["logDestination"] != lg.Outputs["arn"] {
		t.Errorf("flow log %v does not capture ALL traffic to %v", fl.Inputs, lg.Outputs["arn"])
	}
	if lg.Inputs["kmsKeyId"] != key.Outputs["arn"] || key.Inputs["enableKeyRotation"] != true {
		t.Errorf("flow log group not encrypted with a rotating CMK: %v / %v", lg.Inputs["kmsKeyId"], key.Inputs)
	}

	endpoints := map[string]string{}
	for _, ep := range res.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		endpoints[ep.Inputs["serviceName"].(string)] = ep.Inputs["vpcEndpointType"].(string)
	}
	want := map[string]string{"com.amazonaws.eu-west-1.s3": "Gateway"}
	for _, svc := range InterfaceEndpoints {
		want["com.amazonaws.eu-west-1."+svc] = "Interface"
	}
	if fmt.Sprint(endpoints) != fmt.Sprint(want) {
		t.Errorf("endpoints = %v, want %v", endpoints, want)
	}
}

func TestSingleNAT(t *testing.T) {
	res := componenttest.Run(t, build(2, false))
	if n := len(res.ByType("aws:ec2/natGateway:NatGateway")); n != 1 {
		t.Errorf("single NAT strategy: %d gateways", n)
	}
}

func TestBadArgs(t *testing.T) {
	for name, args := range map[string]*Args{
		"nil":       nil,
		"bad cidr":  {Region: "eu-west-1", CIDR: "nope", AZCount: 2},
		"no azs":    {Region: "eu-west-1", CIDR: "10.0.0.0/16", AZCount: 0},
		"too small": {Region: "eu-west-1", CIDR: "10.0.0.0/26", AZCount: 2, AccountID: pulumi.String("1")},
	} {
		err := componenttest.RunErr(func(ctx *pulumi.Context) error {
			_, err := New(ctx, "net", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "network net") {
			t.Errorf("%s: err = %v, want one naming the network", name, err)
		}
	}
}
