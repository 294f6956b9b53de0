package cloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/cloud/cloudtest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
)

const tgARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"

// awsStub answers the query-protocol calls the AWS cloud makes: Auto Scaling groups and instances, and
// one ALB target group (lbtest.ALBStub).
type awsStub struct {
	asgs map[string][]string // ASG -> instance ids
	ips  map[string]string   // instance id -> private IP
	alb  *lbtest.ALBStub
}

func (s *awsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	switch r.Form.Get("Action") {
	case "DescribeAutoScalingGroups":
		name := r.Form.Get("AutoScalingGroupNames.member.1")
		var b strings.Builder
		for _, in := range s.asgs[name] {
			fmt.Fprintf(&b, "<member><InstanceId>%s</InstanceId><LifecycleState>InService</LifecycleState></member>", in)
		}
		fmt.Fprintf(w, `<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>%s</AutoScalingGroupName><Instances>%s</Instances></member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`, name, b.String())
	case "DescribeInstances":
		var b strings.Builder
		for k, v := range r.Form {
			if strings.HasPrefix(k, "InstanceId.") {
				fmt.Fprintf(&b, "<item><instanceId>%s</instanceId><privateIpAddress>%s</privateIpAddress></item>", v[0], s.ips[v[0]])
			}
		}
		fmt.Fprintf(w, `<DescribeInstancesResponse><requestId>r</requestId><reservationSet><item><instancesSet>%s</instancesSet></item></reservationSet></DescribeInstancesResponse>`, b.String())
	default:
		s.alb.ServeHTTP(w, r)
	}
}

func TestAWSConformance(t *testing.T) {
	cloudtest.Suite(t, func(t *testing.T) cloudtest.Fixture {
		stub := &awsStub{asgs: map[string][]string{"app-asg": {"i-0001", "i-0002"}, "worker-asg": {"i-0003"}},
			ips: map[string]string{"i-0001": "10.0.1.5", "i-0002": "10.0.2.5", "i-0003": "10.0.1.9"},
			alb: lbtest.NewALBStub(tgARN, "i-0001", "i-0002")}
		srv := httptest.NewServer(stub)
		t.Cleanup(srv.Close)
		c := cloud.AWSCloud{DrainPoll: 5 * time.Millisecond, LoadConfig: func(context.Context, string) (aws.Config, error) {
			return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, nil
		}}
		return cloudtest.Fixture{Cloud: c, Stack: "production", Outputs: cloudtest.Outputs("production", tgARN),
			Hosts:     map[string][]string{"app": {"i-0001", "i-0002"}, "worker": {"i-0003"}},
			InService: func(_ *testing.T, h inventory.Host) bool { return stub.alb.InService(h.TargetID) }}
	})
}

// liveStatusJSON is one stack of the live server's status (GET /v1/status), as `plinth local status -o
// json` shows it, with the fields deploy reads: %s are the admin socket, the operator key and known_hosts.
const liveStatusJSON = `{"stacks": [{"stack": "staging", "url": "https://127.0.0.1:40443", "caFile": "/x/ca.pem",
  "bastion": "127.0.0.1:40022", "sshUser": "ec2-user", "adminSocket": %q, "backend": "app", "operatorKey": %q, "knownHosts": %q,
  "hosts": [
    {"name": "app-1", "tier": "app", "address": "10.10.64.10", "state": "running"},
    {"name": "app-2", "tier": "app", "address": "10.10.65.10", "state": "running"},
    {"name": "app-3", "tier": "app", "address": "10.10.66.10", "state": "stopped"},
    {"name": "bastion-1", "tier": "bastion", "address": "10.10.0.11", "state": "running"},
    {"name": "worker-1", "tier": "worker", "address": "10.10.64.11", "state": "running"}]}]}`

// liveStatus decodes the status JSON the way the CLI does (internal/cli/deploywire.go).
func liveStatus(t *testing.T, data string) cloud.LiveStatus {
	var rep struct {
		Stacks []struct {
			Stack, Bastion, SSHUser, OperatorKey, KnownHosts, AdminSocket, Backend string
			Hosts                                                                  []cloud.LiveHost
		}
	}
	if err := json.Unmarshal([]byte(data), &rep); err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, stack string) (*cloud.LiveStack, error) {
		for _, s := range rep.Stacks {
			if s.Stack == stack {
				return &cloud.LiveStack{Stack: s.Stack, Bastion: s.Bastion, SSHUser: s.SSHUser, OperatorKey: s.OperatorKey,
					KnownHosts: s.KnownHosts, AdminSocket: s.AdminSocket, Backend: s.Backend, Hosts: s.Hosts}, nil
			}
		}
		return nil, nil
	}
}

// TestLocalConformance: the live local cloud from a status JSON, draining through a real HAProxy's runtime
// API (two healthy targets; a stopped host is not in the inventory).
func TestLocalConformance(t *testing.T) {
	cloudtest.Suite(t, func(t *testing.T) cloudtest.Fixture {
		var addrs []string
		for range 2 {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
			t.Cleanup(srv.Close)
			addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
		}
		hp := lbtest.StartHAProxy(t, "app", "/health", []string{"app-1", "app-2"}, addrs)
		dir := t.TempDir()
		key, known := dir+"/operator_ed25519", dir+"/known_hosts"
		for _, p := range []string{key, known} {
			if err := writeFile(p); err != nil {
				t.Fatal(err)
			}
		}
		admin := lb.HAProxy{Dial: lb.UnixSocket(hp.Socket)}
		up := func(name string) bool {
			st, err := admin.Stat(context.Background(), "app/"+name)
			return err == nil && strings.HasPrefix(st.Status, "UP")
		}
		deadline := time.Now().Add(10 * time.Second)
		for !(up("app-1") && up("app-2")) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		c := cloud.LocalCloud{Live: liveStatus(t, fmt.Sprintf(liveStatusJSON, hp.Socket, key, known))}
		return cloudtest.Fixture{Cloud: c, Stack: "staging", Outputs: cloudtest.Outputs("staging", "arn:local:targetgroup/app"),
			Hosts:     map[string][]string{"app": {"app-1", "app-2"}, "worker": {"worker-1"}},
			InService: func(_ *testing.T, h inventory.Host) bool { return up(h.Name) }}
	})
}

func writeFile(path string) error { return os.WriteFile(path, []byte("test\n"), 0o600) }
