package cloud

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/plinth-dev/plinth/internal/awstest"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestSecretsReplicateToTheDRRegion, against moto's Secrets Manager: what plinth stores for a stack with a DR
// region (the app user's and backup user's credentials) is readable in the DR region, where a DR drill's
// application tier resolves it at start: created with the replica, and a secret stored before the stack had
// a DR region gains it at the next put. A stack without a DR region replicates nothing.
func TestSecretsReplicateToTheDRRegion(t *testing.T) {
	ctx := context.Background()
	m := awstest.Start(t)
	c := AWSCloud{LoadConfig: func(_ context.Context, region string) (aws.Config, error) { return m.Config(region), nil }}
	const region, dr = "eu-west-1", "eu-central-1"
	inDR := secretsmanager.NewFromConfig(m.Config(dr))
	readInDR := func(id string) (string, error) { return AWSSecrets{API: inDR}.GetSecret(ctx, id) }

	s, err := c.Secrets(ctx, "production", &contract.Inventory{Region: region, DRRegion: dr})
	if err != nil {
		t.Fatal(err)
	}
	prod := s.(AWSSecrets)
	if got := prod.ReplicaRegions; len(got) != 1 || got[0] != dr {
		t.Fatalf("production's secrets replicate to %v, want [%s]", got, dr)
	}
	if err := prod.PutSecret(ctx, "plinth/production/db-app-user", `{"username":"plinth_app","password":"p1"}`); err != nil {
		t.Fatal(err)
	}
	if v, err := readInDR("plinth/production/db-app-user"); err != nil || v == "" {
		t.Fatalf("the app user's secret in %s: %q %v", dr, v, err)
	}

	// Stored before the stack had a DR region: the next put adds the replica (once: a third put adds none).
	plain := AWSSecrets{API: prod.API}
	if err := plain.PutSecret(ctx, "plinth/production/db-backup-user", `{"username":"plinth_backup","password":"b1"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := readInDR("plinth/production/db-backup-user"); err == nil {
		t.Fatalf("a secret stored without replica regions is readable in %s", dr)
	}
	for i := 0; i < 2; i++ {
		if err := prod.PutSecret(ctx, "plinth/production/db-backup-user", `{"username":"plinth_backup","password":"b2"}`); err != nil {
			t.Fatalf("put %d: %v", i+1, err)
		}
	}
	d, err := prod.API.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("plinth/production/db-backup-user")})
	if err != nil || len(d.ReplicationStatus) != 1 || *d.ReplicationStatus[0].Region != dr {
		t.Fatalf("backup user's secret replication %+v %v: want exactly %s", d, err, dr)
	}
	if v, err := readInDR("plinth/production/db-backup-user"); err != nil || v == "" {
		t.Fatalf("the backup user's secret in %s after the put: %q %v", dr, v, err)
	}

	// No DR region: nothing to replicate.
	s, err = c.Secrets(ctx, "staging", &contract.Inventory{Region: region})
	if err != nil || len(s.(AWSSecrets).ReplicaRegions) != 0 {
		t.Fatalf("staging's secrets replicate to %v (%v), want none", s.(AWSSecrets).ReplicaRegions, err)
	}
}
