package rdsdrill

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/plinth-dev/plinth/internal/awstest"
)

// The drill runs against moto's RDS (internal/awstest): a DR replica chain — production's primary in
// eu-west-1, its cross-region read replica production-db-dr in eu-central-1 — and the drill's instance made
// from production-db-dr. moto creates, promotes and deletes at once (no creating/modifying/deleting states),
// and it lacks one behaviour: after PromoteReadReplica it keeps reporting ReadReplicaSourceDBInstanceIdentifier
// (RDS clears it when the promotion completes). recordingRDS stubs exactly that and records every call.

const (
	drillID    = "drill-20261203T030000Z"
	drillIdent = "plinth-drill-20261203t030000z"
	primaryARN = "arn:aws:rds:eu-west-1:" + awstest.Account + ":db:production-db"
	drReplica  = "production-db-dr"
)

type recordingRDS struct {
	*rds.Client
	// PromoteClears stubs RDS's end of promotion moto lacks: a promoted instance replicates from nothing.
	PromoteClears bool

	mu       sync.Mutex
	calls    []string
	promoted map[string]bool
}

func (r *recordingRDS) record(action, ident string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, action+" "+ident)
}

func (r *recordingRDS) count(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, action+" ") {
			n++
		}
	}
	return n
}

func (r *recordingRDS) CreateDBInstanceReadReplica(ctx context.Context, in *rds.CreateDBInstanceReadReplicaInput, opts ...func(*rds.Options)) (*rds.CreateDBInstanceReadReplicaOutput, error) {
	r.record("CreateDBInstanceReadReplica", aws.ToString(in.DBInstanceIdentifier)+" from "+aws.ToString(in.SourceDBInstanceIdentifier))
	return r.Client.CreateDBInstanceReadReplica(ctx, in, opts...)
}

func (r *recordingRDS) PromoteReadReplica(ctx context.Context, in *rds.PromoteReadReplicaInput, opts ...func(*rds.Options)) (*rds.PromoteReadReplicaOutput, error) {
	r.record("PromoteReadReplica", aws.ToString(in.DBInstanceIdentifier))
	out, err := r.Client.PromoteReadReplica(ctx, in, opts...)
	if err == nil {
		r.mu.Lock()
		r.promoted[aws.ToString(in.DBInstanceIdentifier)] = true
		r.mu.Unlock()
	}
	return out, err
}

func (r *recordingRDS) DeleteDBInstance(ctx context.Context, in *rds.DeleteDBInstanceInput, opts ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error) {
	r.record("DeleteDBInstance", aws.ToString(in.DBInstanceIdentifier))
	return r.Client.DeleteDBInstance(ctx, in, opts...)
}

func (r *recordingRDS) DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	r.record("DescribeDBInstances", aws.ToString(in.DBInstanceIdentifier))
	out, err := r.Client.DescribeDBInstances(ctx, in, opts...)
	if err != nil || !r.PromoteClears {
		return out, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range out.DBInstances {
		if r.promoted[aws.ToString(out.DBInstances[i].DBInstanceIdentifier)] {
			out.DBInstances[i].ReadReplicaSourceDBInstanceIdentifier = nil
		}
	}
	return out, nil
}

// newChain starts moto with production's primary in eu-west-1 and its DR replica in eu-central-1, and
// returns the DR region's client (recording, promotion stubbed) and the raw one.
func newChain(t *testing.T) (*recordingRDS, *rds.Client) {
	m := awstest.Start(t)
	m.NewDRChain(t, "eu-west-1", "production-db", "eu-central-1", drReplica)
	central := rds.NewFromConfig(m.Config("eu-central-1"))
	return &recordingRDS{Client: central, PromoteClears: true, promoted: map[string]bool{}}, central
}

func describe(t *testing.T, c *rds.Client, ident string) *types.DBInstance {
	t.Helper()
	out, err := c.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(ident)})
	var nf *types.DBInstanceNotFoundFault
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil || len(out.DBInstances) != 1 {
		t.Fatalf("describe %s: %v", ident, err)
	}
	return &out.DBInstances[0]
}

// TestDrillDatabaseOnMoto: create (twice: one instance), promote (twice: one promotion), teardown (twice:
// one delete, nothing tagged left), and production's DR replica only ever named as the source: it is still
// there, still a replica of production's primary.
func TestDrillDatabaseOnMoto(t *testing.T) {
	ctx := context.Background()
	api, raw := newChain(t)
	var connected []string
	d := &Database{API: api, Source: drReplica, Interval: time.Millisecond, Timeout: 5 * time.Second,
		Connect: func(_ context.Context, endpoint string) (*sql.DB, error) {
			connected = append(connected, endpoint)
			return &sql.DB{}, nil
		}}
	for round := 1; round <= 2; round++ {
		_, where, err := d.Create(ctx, drillID)
		if err != nil || where != "rds "+drillIdent+" (replica of "+drReplica+")" {
			t.Fatalf("create %d: %q %v", round, where, err)
		}
	}
	inst := describe(t, raw, drillIdent)
	if src := aws.ToString(inst.ReadReplicaSourceDBInstanceIdentifier); src != drReplica {
		t.Errorf("the drill instance replicates from %q, want %s", src, drReplica)
	}
	if tags := tagMap(inst.TagList); tags["plinth:drill"] != drillID {
		t.Errorf("the drill instance's tags %v lack plinth:drill=%s", tags, drillID)
	}
	if aws.ToBool(inst.PubliclyAccessible) || aws.ToBool(inst.DeletionProtection) || aws.ToBool(inst.MultiAZ) {
		t.Errorf("the drill instance: public %v, deletion protection %v, multi-AZ %v", aws.ToBool(inst.PubliclyAccessible),
			aws.ToBool(inst.DeletionProtection), aws.ToBool(inst.MultiAZ))
	}
	want := aws.ToString(inst.Endpoint.Address) + ":3306"
	if len(connected) != 2 || connected[0] != want || d.Endpoint(drillID) != want {
		t.Fatalf("connected to %v, endpoint %q, want %q", connected, d.Endpoint(drillID), want)
	}
	for round := 1; round <= 2; round++ {
		if err := d.Promote(ctx, drillID); err != nil {
			t.Fatalf("promote %d: %v", round, err)
		}
	}
	for round := 1; round <= 2; round++ {
		left, err := d.Teardown(ctx, drillID)
		if err != nil || len(left) != 0 {
			t.Fatalf("teardown %d: left %v, %v", round, left, err)
		}
	}
	if describe(t, raw, drillIdent) != nil {
		t.Error("the drill instance is still there after teardown")
	}
	if n := api.count("CreateDBInstanceReadReplica"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := api.count("PromoteReadReplica"); n != 1 {
		t.Errorf("%d promotions, want 1", n)
	}
	if n := api.count("DeleteDBInstance"); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
	for _, c := range api.calls {
		if f := strings.Fields(c); f[0] != "DescribeDBInstances" && f[1] == drReplica { // the instance acted on
			t.Errorf("production's DR replica was acted on: %s", c)
		}
	}
	dr := describe(t, raw, drReplica)
	if dr == nil || aws.ToString(dr.DBInstanceStatus) != "available" || aws.ToString(dr.ReadReplicaSourceDBInstanceIdentifier) != primaryARN {
		t.Errorf("production's DR replica after the drill: %+v", dr)
	}
	out, err := raw.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil || len(out.DBInstances) != 1 {
		t.Errorf("instances in the DR region after teardown: %d, %v", len(out.DBInstances), err)
	}
}

// TestTeardownNamesWhatIsLeftAndForeignReplicas: an instance tagged with the drill id that is not the drill's
// own is named by ARN; an instance of the drill's name replicating from anything but the DR replica is
// refused, not adopted; a missing source names the drill instance; a wait that never settles ends at the
// Timeout naming the status (moto's promotion, without the stub, never clears the source).
func TestTeardownNamesWhatIsLeftAndForeignReplicas(t *testing.T) {
	ctx := context.Background()
	api, raw := newChain(t)
	_, err := raw.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("stray"),
		DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mysql"), EngineVersion: aws.String("8.0.36"),
		AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password1234"),
		Tags: []types.Tag{{Key: aws.String("plinth:drill"), Value: aws.String(drillID)}}})
	if err != nil {
		t.Fatal(err)
	}
	d := &Database{API: api, Source: drReplica, Interval: time.Millisecond, Timeout: time.Second}
	left, err := d.Teardown(ctx, drillID)
	strayARN := "arn:aws:rds:eu-central-1:" + awstest.Account + ":db:stray"
	if err != nil || !slices.Equal(left, []string{strayARN}) {
		t.Errorf("teardown left %v, %v; want [%s]", left, err, strayARN)
	}
	if describe(t, raw, "stray") == nil {
		t.Error("teardown deleted an instance that is not the drill's own")
	}

	// An instance of the drill's name replicating from another database: refused.
	_, err = raw.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{DBInstanceIdentifier: aws.String(drillIdent),
		SourceDBInstanceIdentifier: aws.String("stray")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Create(ctx, drillID); err == nil || !strings.Contains(err.Error(), "replicates from stray") {
		t.Errorf("foreign replica: %v", err)
	}
	if _, err := raw.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(drillIdent), SkipFinalSnapshot: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	// A source that does not exist: the error names the drill instance and what it replicates from.
	missing := &Database{API: api, Source: "missing-db", Interval: time.Millisecond, Timeout: time.Second}
	if _, _, err := missing.Create(ctx, drillID); err == nil || !strings.Contains(err.Error(), "create rds "+drillIdent+" (replica of missing-db)") {
		t.Errorf("missing source: %v", err)
	}
	// Promoting a drill instance that does not exist names it.
	if err := d.Promote(ctx, drillID); err == nil || !strings.Contains(err.Error(), "promote "+drillIdent+": no such instance") {
		t.Errorf("promote missing: %v", err)
	}

	// moto's promotion, unstubbed, never clears the source: the wait ends at Timeout naming the status.
	api.PromoteClears = false
	d.Connect = func(context.Context, string) (*sql.DB, error) { return &sql.DB{}, nil }
	d.Timeout = 50 * time.Millisecond
	if _, _, err := d.Create(ctx, drillID); err != nil {
		t.Fatal(err)
	}
	if err := d.Promote(ctx, drillID); err == nil || !strings.Contains(err.Error(), drillIdent+" not promoted after 50ms (status available)") {
		t.Errorf("timeout: %v", err)
	}
	// Without Connect, Create names the endpoint it cannot reach.
	d.Connect = nil
	if _, _, err := d.Create(ctx, drillID); err == nil || !strings.Contains(err.Error(), drillIdent+": no way to connect to") {
		t.Errorf("no connect: %v", err)
	}
}

func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
