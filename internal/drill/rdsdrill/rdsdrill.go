// Package rdsdrill is the AWS drill database of `plinth drill --source replica`: an RDS read replica of
// production's DR replica (in the DR region, in the DR replica's VPC, tagged plinth:drill=<id>), promoted
// with PromoteReadReplica. Production's DR replica is only ever named as the source: it keeps replicating
// through and after the drill. Teardown deletes the drill instance (no final snapshot: it is a copy) and
// lists every instance still tagged with the drill id.
package rdsdrill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/plinth-dev/plinth/environments"
)

// API is the part of the RDS client the drill uses (rds.Client in the DR region).
type API interface {
	CreateDBInstanceReadReplica(ctx context.Context, in *rds.CreateDBInstanceReadReplicaInput, opts ...func(*rds.Options)) (*rds.CreateDBInstanceReadReplicaOutput, error)
	PromoteReadReplica(ctx context.Context, in *rds.PromoteReadReplicaInput, opts ...func(*rds.Options)) (*rds.PromoteReadReplicaOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	DeleteDBInstance(ctx context.Context, in *rds.DeleteDBInstanceInput, opts ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
}

// Database is a drill.DrillDatabase on RDS.
type Database struct {
	API API
	// Source is production's DR replica (identifier or ARN: the inventory's database.drReplicaId).
	Source string
	// InstanceClass of the drill instance ("": the source's).
	InstanceClass string
	// Connect opens the drill instance at endpoint (host:port) as the operator reaches the DR VPC (through
	// the drill's bastion, with the master secret the replica shares with its source).
	Connect func(ctx context.Context, endpoint string) (*sql.DB, error)
	// Interval between status polls (default 30s); Timeout bounds each wait (default 1h: RDS creates a
	// replica from a snapshot of its source).
	Interval time.Duration
	Timeout  time.Duration

	endpoint string
}

// Identifier is drill id's RDS instance identifier (lower case, as RDS stores it; at most 63 characters).
func Identifier(id string) string { return "plinth-" + strings.ToLower(id) }

// Create implements drill.DrillDatabase: the read replica of Source (idempotent: a re-run finds the
// instance by identifier and waits for it).
func (d *Database) Create(ctx context.Context, id string) (*sql.DB, string, error) {
	ident := Identifier(id)
	where := "rds " + ident + " (replica of " + d.Source + ")"
	inst, err := d.describe(ctx, ident)
	if err != nil {
		return nil, where, err
	}
	if inst == nil {
		in := &rds.CreateDBInstanceReadReplicaInput{
			DBInstanceIdentifier:       aws.String(ident),
			SourceDBInstanceIdentifier: aws.String(d.Source),
			PubliclyAccessible:         aws.Bool(false),
			MultiAZ:                    aws.Bool(false),
			DeletionProtection:         aws.Bool(false),
			AutoMinorVersionUpgrade:    aws.Bool(false),
			CopyTagsToSnapshot:         aws.Bool(true),
			Tags:                       []types.Tag{{Key: aws.String(environments.DrillTag), Value: aws.String(id)}},
		}
		if d.InstanceClass != "" {
			in.DBInstanceClass = aws.String(d.InstanceClass)
		}
		if _, err := d.API.CreateDBInstanceReadReplica(ctx, in); err != nil {
			return nil, where, fmt.Errorf("create %s: %w", where, err)
		}
	} else if src := aws.ToString(inst.ReadReplicaSourceDBInstanceIdentifier); src != "" && !sameInstance(src, d.Source) {
		return nil, where, fmt.Errorf("%s exists but replicates from %s: not this drill's (tear it down first)", ident, src)
	}
	inst, err = d.wait(ctx, ident, "available", func(i *types.DBInstance) bool { return aws.ToString(i.DBInstanceStatus) == "available" })
	if err != nil {
		return nil, where, err
	}
	if inst.Endpoint == nil || aws.ToString(inst.Endpoint.Address) == "" {
		return nil, where, fmt.Errorf("%s is available but has no endpoint", ident)
	}
	d.endpoint = fmt.Sprintf("%s:%d", aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port))
	if d.Connect == nil {
		return nil, where, fmt.Errorf("%s: no way to connect to %s from here", ident, d.endpoint)
	}
	db, err := d.Connect(ctx, d.endpoint)
	if err != nil {
		return nil, where, fmt.Errorf("connect to %s at %s: %w", ident, d.endpoint, err)
	}
	return db, where, nil
}

// SourceEndpoint is production's DR replica's host:port (for the preflight's lag check: it is only read).
func (d *Database) SourceEndpoint(ctx context.Context) (string, error) {
	inst, err := d.describe(ctx, d.Source)
	switch {
	case err != nil:
		return "", fmt.Errorf("production's DR replica: %w", err)
	case inst == nil:
		return "", fmt.Errorf("production's DR replica %s: no such instance in this region", d.Source)
	case inst.Endpoint == nil || aws.ToString(inst.Endpoint.Address) == "":
		return "", fmt.Errorf("production's DR replica %s has no endpoint (status %s)", d.Source, aws.ToString(inst.DBInstanceStatus))
	}
	return fmt.Sprintf("%s:%d", aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port)), nil
}

// Endpoint implements drill.DrillDatabase (known once Create has waited for the instance).
func (d *Database) Endpoint(string) string { return d.endpoint }

// Promote implements drill.DrillDatabase: PromoteReadReplica, then wait until the instance is available and
// replicates from nothing (idempotent: an instance already promoted is left as it is).
func (d *Database) Promote(ctx context.Context, id string) error {
	ident := Identifier(id)
	inst, err := d.describe(ctx, ident)
	if err != nil {
		return err
	}
	if inst == nil {
		return fmt.Errorf("promote %s: no such instance", ident)
	}
	if aws.ToString(inst.ReadReplicaSourceDBInstanceIdentifier) != "" {
		if _, err := d.API.PromoteReadReplica(ctx, &rds.PromoteReadReplicaInput{DBInstanceIdentifier: aws.String(ident)}); err != nil {
			return fmt.Errorf("promote %s: %w", ident, err)
		}
	}
	_, err = d.wait(ctx, ident, "promoted", func(i *types.DBInstance) bool {
		return aws.ToString(i.DBInstanceStatus) == "available" && aws.ToString(i.ReadReplicaSourceDBInstanceIdentifier) == ""
	})
	return err
}

// Teardown implements drill.TearDowner: delete the drill instance (from any state; already gone is fine),
// wait until it is gone, then list every instance still tagged plinth:drill=<id>.
func (d *Database) Teardown(ctx context.Context, id string) ([]string, error) {
	ident := Identifier(id)
	inst, err := d.describe(ctx, ident)
	if err != nil {
		return []string{"rds " + ident + " (not listed)"}, err
	}
	if inst != nil {
		if aws.ToString(inst.DBInstanceStatus) != "deleting" {
			_, err := d.API.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(ident),
				SkipFinalSnapshot: aws.Bool(true), DeleteAutomatedBackups: aws.Bool(true)})
			var nf *types.DBInstanceNotFoundFault
			if err != nil && !errors.As(err, &nf) {
				return []string{"rds " + ident}, fmt.Errorf("delete %s: %w", ident, err)
			}
		}
		if _, err := d.wait(ctx, ident, "deleted", nil); err != nil {
			return []string{"rds " + ident}, err
		}
	}
	return d.tagged(ctx, id)
}

// LeftName names an instance left behind: its ARN (what the Resource Groups Tagging API lists too, so the
// drill's leftover check and this teardown name one instance once), else its identifier.
func LeftName(inst types.DBInstance) string {
	if arn := aws.ToString(inst.DBInstanceArn); arn != "" {
		return arn
	}
	return "rds " + aws.ToString(inst.DBInstanceIdentifier)
}

// tagged lists the instances tagged plinth:drill=<id>.
func (d *Database) tagged(ctx context.Context, id string) ([]string, error) {
	var left []string
	p := rds.NewDescribeDBInstancesPaginator(d.API, &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return append(left, "rds instances tagged "+environments.DrillTag+"="+id+" (not listed)"), fmt.Errorf("list RDS instances: %w", err)
		}
		for _, inst := range page.DBInstances {
			for _, t := range inst.TagList {
				if aws.ToString(t.Key) == environments.DrillTag && aws.ToString(t.Value) == id {
					left = append(left, LeftName(inst))
				}
			}
		}
	}
	return left, nil
}

// describe returns the instance, or nil when it does not exist.
func (d *Database) describe(ctx context.Context, ident string) (*types.DBInstance, error) {
	out, err := d.API.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(ident)})
	var nf *types.DBInstanceNotFoundFault
	switch {
	case errors.As(err, &nf):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe %s: %w", ident, err)
	case len(out.DBInstances) == 0:
		return nil, nil
	}
	return &out.DBInstances[0], nil
}

// wait polls until done holds (done nil: until the instance is gone), within Timeout.
func (d *Database) wait(ctx context.Context, ident, what string, done func(*types.DBInstance) bool) (*types.DBInstance, error) {
	interval, timeout := d.Interval, d.Timeout
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if timeout <= 0 {
		timeout = time.Hour
	}
	deadline := time.Now().Add(timeout)
	last := "unknown"
	for {
		inst, err := d.describe(ctx, ident)
		if err != nil {
			return nil, err
		}
		switch {
		case inst == nil && done == nil:
			return nil, nil
		case inst == nil:
			return nil, fmt.Errorf("%s disappeared while waiting for it to be %s", ident, what)
		case done != nil && done(inst):
			return inst, nil
		}
		last = aws.ToString(inst.DBInstanceStatus)
		if s := last; s == "failed" || s == "incompatible-parameters" || s == "incompatible-restore" || s == "storage-full" {
			return nil, fmt.Errorf("%s is %s: it will not become %s", ident, s, what)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not %s after %s (status %s)", ident, what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s to be %s (status %s): %w", ident, what, last, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// sameInstance compares an identifier with an identifier or ARN (arn:aws:rds:REGION:ACCOUNT:db:NAME).
func sameInstance(a, b string) bool {
	name := func(s string) string {
		if i := strings.LastIndex(s, ":db:"); i >= 0 {
			s = s[i+len(":db:"):]
		}
		return strings.ToLower(s)
	}
	return name(a) == name(b)
}
