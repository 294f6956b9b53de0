package awstest

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// TestServerAnswersAndStops: two servers run side by side on their own ports, the SDK reaches one with the
// dummy credentials, Reset empties it, and Stop ends exactly its process.
func TestServerAnswersAndStops(t *testing.T) {
	ctx := context.Background()
	a, err := start(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop() }) // when the test fails before its own Stop
	b := Start(t)
	if a.Endpoint == b.Endpoint {
		t.Fatalf("two servers share %s", a.Endpoint)
	}
	client := rds.NewFromConfig(a.Config("eu-central-1"))
	_, err = client.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("db1"),
		DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mariadb"), EngineVersion: aws.String("10.11.8"), AllocatedStorage: aws.Int32(20),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password1234")})
	if err != nil {
		t.Fatalf("create on moto: %v\n%s", err, a.Log())
	}
	count := func(s *Server) int {
		out, err := rds.NewFromConfig(s.Config("eu-central-1")).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.DBInstances)
	}
	if n, m := count(a), count(b); n != 1 || m != 0 {
		t.Fatalf("instances: %d on a, %d on b; want 1, 0", n, m)
	}
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(a); n != 0 {
		t.Fatalf("after reset: %d instances", n)
	}
	pid := a.cmd.Process.Pid
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists after Stop: %v", pid, err)
	}
	if count(b) != 0 {
		t.Error("b changed")
	}
	env := b.Env(t.TempDir())
	if env["AWS_ENDPOINT_URL"] != b.Endpoint || env["AWS_EC2_METADATA_DISABLED"] != "true" {
		t.Errorf("env %v", env)
	}
}
