package cli

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/drill/awsdrill"
	"github.com/plinth-dev/plinth/internal/drill/rdsdrill"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// drillCloud is the Factory's DrillCloud: for a stack whose cloud is aws, the drill's parts in its DR
// region (the inventory's drRegion), with the SDK's default credential chain (AWS_ENDPOINT_URL honoured):
// the RDS drill database made from the inventory's database.drReplicaId, the DR replica's endpoint for the
// preflight, the leftover check by the drill tag, and the drill load balancer's readiness. The databases
// are reached as the operator reaches the DR VPC, with the backup user's credentials (PLINTH_DB_USER,
// PLINTH_DB_PASSWORD: RDS replicas share their source's users). Other clouds add nothing here.
func drillCloud(f *cmdutil.Factory) func(ctx context.Context, stack, id string, log func(string, ...any)) (drill.CloudParts, error) {
	return func(ctx context.Context, stack, id string, log func(string, ...any)) (drill.CloudParts, error) {
		name := cloud.AWS
		if f.StackCloud != nil {
			recorded, err := f.StackCloud(ctx, stack)
			if err != nil {
				return drill.CloudParts{}, err
			}
			if recorded != "" {
				name = recorded
			}
		}
		if name != cloud.AWS || f.StackOutputs == nil {
			return drill.CloudParts{}, nil
		}
		outs, err := f.StackOutputs(ctx, stack)
		if err != nil {
			return drill.CloudParts{}, fmt.Errorf("stack %s: %w", stack, err)
		}
		inv, err := contract.Parse(outs)
		if err != nil {
			return drill.CloudParts{}, fmt.Errorf("stack %s: %w", stack, err)
		}
		if inv.DRRegion == "" {
			return drill.CloudParts{}, fmt.Errorf("stack %s: its inventory names no drRegion: there is no DR region to drill in", stack)
		}
		cfg, err := cloud.NewAWS().Config(ctx, stack, inv.DRRegion)
		if err != nil {
			return drill.CloudParts{}, err
		}
		tagging, asg := awsdrill.NewTagging(cfg), autoscaling.NewFromConfig(cfg)
		lb := &awsdrill.LoadBalancer{Tagging: tagging, AutoScaling: asg, ELB: elbv2.NewFromConfig(cfg), Log: log}
		parts := drill.CloudParts{
			Leftovers: awsdrill.Leftovers{Tagging: tagging, AutoScaling: asg, EC2: ec2.NewFromConfig(cfg), Region: inv.DRRegion},
			Address: func(ctx context.Context, _ string, _ *contract.Inventory) (string, string, error) {
				u, err := lb.Address(ctx, id)
				return u, "", err // the drill load balancer's certificate is a public one: the system pool
			},
		}
		if inv.Database == nil || inv.Database.DRReplicaID == "" {
			return parts, fmt.Errorf("stack %s: its inventory names no database.drReplicaId: no drill database from the DR replica", stack)
		}
		user, pass := f.Getenv(target.EnvDBUser), f.Getenv(target.EnvDBPass)
		db := &rdsdrill.Database{API: rds.NewFromConfig(cfg), Source: inv.Database.DRReplicaID,
			Connect: func(ctx context.Context, endpoint string) (*sql.DB, error) {
				return connectDrillDB(ctx, endpoint, user, pass)
			}}
		parts.Database = db
		if user == "" {
			return parts, fmt.Errorf("stack %s: set %s and %s to reach the DR replica and the drill database", stack, target.EnvDBUser, target.EnvDBPass)
		}
		addr, err := db.SourceEndpoint(ctx)
		if err != nil {
			return parts, fmt.Errorf("stack %s: %w", stack, err)
		}
		parts.DRReplicaDSN = mysqlx.DSN(addr, user, pass)
		return parts, nil
	}
}

// connectDrillDB opens the drill database at endpoint and checks that it answers.
func connectDrillDB(ctx context.Context, endpoint, user, pass string) (*sql.DB, error) {
	if user == "" {
		return nil, fmt.Errorf("no credentials: set %s and %s", target.EnvDBUser, target.EnvDBPass)
	}
	db, err := mysqlx.Open(mysqlx.DSN(endpoint, user, pass))
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
