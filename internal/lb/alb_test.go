package lb_test

import (
	"net/http/httptest"
	"strings"
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

func newALB(t *testing.T) (lb.ALB, *lbtest.ALBStub) {
	t.Helper()
	stub := lbtest.NewALBStub(tgARN, "i-0001", "i-0002")
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
			InService: func(_ *testing.T, h inventory.Host) bool { return stub.InService(h.TargetID) }}
	})
}

func TestALBWaitsOutDraining(t *testing.T) {
	d, stub := newALB(t)
	h := inventory.Host{Name: "app-1", TargetID: "i-0001", Port: 8080}
	if err := d.Drain(t.Context(), "app", h); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(stub.Actions(), ",")
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
