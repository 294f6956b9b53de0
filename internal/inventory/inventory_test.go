package inventory_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/plinth-dev/plinth/internal/inventory"
)

func TestFileSource(t *testing.T) {
	inv, err := inventory.File{Path: "testdata/staging.yaml"}.Inventory(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	app, err := inv.Tier("app")
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Host{
		{Name: "app-1", Address: "127.0.0.1:2201", User: "deploy", Root: "/tmp/hosts/app-1", Port: 8080},
		{Name: "app-2", Address: "127.0.0.1:2202", User: "deploy", Root: "/tmp/hosts/app-2", Port: 8082},
		{Name: "app-3", Address: "10.0.1.7:22", User: "deploy", Root: "/srv/plinth/app", Port: 8080},
	}
	if !reflect.DeepEqual(app.Hosts, want) {
		t.Fatalf("hosts:\n%+v\nwant\n%+v", app.Hosts, want)
	}
	if inv.Bastion.Address != "127.0.0.1:2200" || inv.Bastion.User != "deploy" || inv.Tiers["worker"].Hosts[0].User != "jobs" {
		t.Fatalf("bastion %+v worker %+v", inv.Bastion, inv.Tiers["worker"].Hosts[0])
	}
	if _, err := (inventory.File{Path: "testdata/staging.yaml"}).Inventory(context.Background(), "production"); err == nil {
		t.Fatal("a staging inventory was accepted for production")
	}
	if _, err := inv.Tier("search"); err == nil {
		t.Fatal("unknown tier")
	}
}

func TestParseRejectsBadInventories(t *testing.T) {
	cases := map[string]string{
		"unknown field":   "tiers: {app: {hostz: []}}",
		"no tiers":        "stack: x",
		"bad address":     "tiers: {app: {hosts: [{address: 'x:notaport'}]}}",
		"relative root":   "tiers: {app: {hosts: [{address: a, root: srv/app}]}}",
		"duplicate names": "tiers: {app: {hosts: [{name: h, address: a}]}, worker: {hosts: [{name: h, address: b}]}}",
		"bad host name":   "tiers: {app: {hosts: [{name: 'h;rm', address: a}]}}",
		"escrow bucket":   "releaseEscrow: {region: eu-west-1}\ntiers: {app: {hosts: [{address: a}]}}",
	}
	for name, doc := range cases {
		if _, err := inventory.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Every problem at once.
	_, err := inventory.Parse([]byte("tiers: {app: {hosts: [{address: '', root: rel}]}}"))
	if err == nil || !strings.Contains(err.Error(), "address is empty") || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("want both errors: %v", err)
	}
}

// awsStub answers the Auto Scaling and EC2 query APIs from fixed data.
func awsStub(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		switch r.Form.Get("Action") {
		case "DescribeAutoScalingGroups":
			name := r.Form.Get("AutoScalingGroupNames.member.1")
			var members string
			switch name {
			case "production-app-asg":
				members = `<member><InstanceId>i-0bbb</InstanceId><LifecycleState>InService</LifecycleState></member>
<member><InstanceId>i-0aaa</InstanceId><LifecycleState>InService</LifecycleState></member>
<member><InstanceId>i-0ccc</InstanceId><LifecycleState>Terminating</LifecycleState></member>`
			case "production-worker-asg":
				members = `<member><InstanceId>i-0ddd</InstanceId><LifecycleState>InService</LifecycleState></member>`
			}
			fmt.Fprintf(w, `<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>%s</AutoScalingGroupName><Instances>%s</Instances></member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`, name, members)
		case "DescribeInstances":
			ips := map[string]string{"i-0aaa": "10.0.1.10", "i-0bbb": "10.0.1.11", "i-0ddd": "10.0.2.10"}
			var items strings.Builder
			for i := 1; ; i++ {
				id := r.Form.Get(fmt.Sprintf("InstanceId.%d", i))
				if id == "" {
					break
				}
				fmt.Fprintf(&items, `<item><instanceId>%s</instanceId><privateIpAddress>%s</privateIpAddress></item>`, id, ips[id])
			}
			fmt.Fprintf(w, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>%s</instancesSet></item></reservationSet></DescribeInstancesResponse>`, items.String())
		default:
			http.Error(w, "unexpected "+r.Form.Get("Action"), 400)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStackSourceResolvesASGInstances(t *testing.T) {
	srv := awsStub(t)
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	data, err := os.ReadFile(filepath.Join("testdata", "outputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	src := inventory.Stack{
		Outputs: func(_ context.Context, stack string) (map[string]any, error) {
			return map[string]any{"inventory": string(data)}, nil
		},
		ASG: autoscaling.New(autoscaling.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds}),
		EC2: ec2.New(ec2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds}),
	}
	inv, err := src.Inventory(context.Background(), "production")
	if err != nil {
		t.Fatal(err)
	}
	app := inv.Tiers["app"]
	want := []inventory.Host{
		{Name: "i-0aaa", Address: "10.0.1.10:22", User: "plinth", Root: "/srv/plinth/app", Port: 8080, TargetID: "i-0aaa"},
		{Name: "i-0bbb", Address: "10.0.1.11:22", User: "plinth", Root: "/srv/plinth/app", Port: 8080, TargetID: "i-0bbb"},
	}
	if !reflect.DeepEqual(app.Hosts, want) {
		t.Fatalf("app hosts (terminating ones excluded, sorted):\n%+v\nwant\n%+v", app.Hosts, want)
	}
	if app.TargetGroupARN == "" || app.Min != 3 {
		t.Fatalf("tier %+v", app)
	}
	if inv.Bastion == nil || inv.Bastion.Address != "203.0.113.10:22" {
		t.Fatalf("bastion %+v", inv.Bastion)
	}
	if len(inv.Tiers["worker"].Hosts) != 1 || len(inv.Tiers["sftp"].Hosts) != 0 {
		t.Fatalf("worker %+v sftp %+v", inv.Tiers["worker"], inv.Tiers["sftp"])
	}
	if e := inv.ReleaseEscrow; e == nil || e.Bucket != "production-escrow-bucket-1a2b3c" || e.Region != "eu-west-1" {
		t.Fatalf("release escrow %+v", e)
	}
}

func TestParseOutputsToleratesMissingSections(t *testing.T) {
	out, err := inventory.ParseOutputs(map[string]any{"inventory": map[string]any{"stack": "x", "tiers": map[string]any{}}})
	if err != nil || out.Stack != "x" {
		t.Fatalf("%+v %v", out, err)
	}
	if _, err := inventory.ParseOutputs(map[string]any{}); err == nil {
		t.Fatal("no inventory output accepted")
	}
}
