package lb_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
)

const tgARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"

// albStub speaks the ELBv2 query protocol for one target group: deregistered targets drain for a few
// polls, registered ones become healthy after a few polls.
type albStub struct {
	mu      sync.Mutex
	state   map[string]string // target id -> healthy, draining, initial, unused
	polls   map[string]int
	actions []string
}

func (s *albStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	action := r.Form.Get("Action")
	s.actions = append(s.actions, action)
	if r.Form.Get("TargetGroupArn") != tgARN {
		w.WriteHeader(400)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>no such target group</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	id := r.Form.Get("Targets.member.1.Id")
	if _, known := s.state[id]; !known {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidTarget</Code><Message>target %s is not in this VPC</Message></Error><RequestId>r</RequestId></ErrorResponse>`, id)
		return
	}
	switch action {
	case "DeregisterTargets":
		if s.state[id] != "unused" {
			s.state[id], s.polls[id] = "draining", 0
		}
		fmt.Fprint(w, `<DeregisterTargetsResponse><DeregisterTargetsResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeregisterTargetsResponse>`)
	case "RegisterTargets":
		if s.state[id] != "healthy" {
			s.state[id], s.polls[id] = "initial", 0
		}
		fmt.Fprint(w, `<RegisterTargetsResponse><RegisterTargetsResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></RegisterTargetsResponse>`)
	case "DescribeTargetHealth":
		s.polls[id]++
		if s.polls[id] >= 3 {
			switch s.state[id] {
			case "draining":
				s.state[id] = "unused"
			case "initial":
				s.state[id] = "healthy"
			}
		}
		fmt.Fprintf(w, `<DescribeTargetHealthResponse><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>%s</Id><Port>%s</Port></Target><TargetHealth><State>%s</State></TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`,
			id, r.Form.Get("Targets.member.1.Port"), s.state[id])
	default:
		http.Error(w, "unexpected action "+action, 400)
	}
}

func (s *albStub) inService(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[id] == "healthy"
}

func newALB(t *testing.T) (lb.ALB, *albStub) {
	t.Helper()
	stub := &albStub{state: map[string]string{"i-0001": "healthy", "i-0002": "healthy"}, polls: map[string]int{}}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	api := elbv2.New(elbv2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	return lb.ALB{API: api, TargetGroups: map[string]string{"app": tgARN}, Poll: 5 * time.Millisecond,
		DrainTimeout: 5 * time.Second, UpTimeout: 5 * time.Second}, stub
}

func TestALBConformance(t *testing.T) {
	lbtest.DrainerSuite(t, func(t *testing.T) lbtest.Fixture {
		d, stub := newALB(t)
		return lbtest.Fixture{Drainer: d, Tier: "app",
			Hosts:     [2]inventory.Host{{Name: "app-1", TargetID: "i-0001", Port: 8080}, {Name: "app-2", TargetID: "i-0002", Port: 8080}},
			InService: func(_ *testing.T, h inventory.Host) bool { return stub.inService(h.TargetID) }}
	})
}

func TestALBWaitsOutDraining(t *testing.T) {
	d, stub := newALB(t)
	h := inventory.Host{Name: "app-1", TargetID: "i-0001", Port: 8080}
	if err := d.Drain(t.Context(), "app", h); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(stub.actions, ",")
	if got != "DeregisterTargets,DescribeTargetHealth,DescribeTargetHealth,DescribeTargetHealth" {
		t.Fatalf("calls: %s", got)
	}
	if err := d.Drain(t.Context(), "worker", h); err == nil || !strings.Contains(err.Error(), "no target group") {
		t.Fatalf("tier without target group: %v", err)
	}
	if err := d.Drain(t.Context(), "app", inventory.Host{Name: "x"}); err == nil {
		t.Fatal("host without a target id was drained")
	}
}
