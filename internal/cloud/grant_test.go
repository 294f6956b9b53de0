package cloud

import (
	"context"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// grantAccess is a BackupAccess over Secrets Manager (the SDK fake) and a real MariaDB reached directly.
type grantAccess struct {
	sm   *fakeSM
	addr string
}

func (g grantAccess) Secrets(context.Context, string, *contract.Inventory) (SecretStore, error) {
	return AWSSecrets{API: g.sm}, nil
}

func (g grantAccess) Database(context.Context, string, *contract.Inventory) (DatabaseConn, error) {
	return DatabaseConn{Addr: g.addr}, nil
}

func (g grantAccess) BackupStoreAs(context.Context, string, *contract.Inventory, string) (string, error) {
	return "", nil
}

// TestGrantAppUserFromTheMasterSecret: the same path as the backup user's: connected as the master user
// (its managed secret), the application user is made with DML on its schema only and its credentials stored
// as plinth/<stack>/db-app-user; a second grant keeps the password. An inventory without the master secret
// names the field.
func TestGrantAppUserFromTheMasterSecret(t *testing.T) {
	srv := mysqltest.New(t)
	master := "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1-abcdef"
	sm := &fakeSM{m: map[string]string{master: `{"username":"` + mysqltest.User + `","password":"` + mysqltest.Password + `"}`}}
	a := grantAccess{sm: sm, addr: srv.Addr()}
	inv := &contract.Inventory{Database: &contract.Database{WriterEndpoint: srv.Addr(), MasterSecretARN: master}}
	ctx := context.Background()
	if err := GrantAppUser(ctx, a, "staging", inv); err != nil {
		t.Fatal(err)
	}
	first, err := ReadDBCredentials(ctx, AWSSecrets{API: sm}, userdata.AppDBSecretID("staging"))
	if err != nil || first.Username != userdata.AppDBUser || len(first.Password) < 16 {
		t.Fatalf("app secret: %+v %v", first.Username, err)
	}
	if err := GrantAppUser(ctx, a, "staging", inv); err != nil {
		t.Fatal(err)
	}
	if again, _ := ReadDBCredentials(ctx, AWSSecrets{API: sm}, userdata.AppDBSecretID("staging")); again != first {
		t.Error("a second grant changed the stored password")
	}
	all := srv.Grants(t, "'plinth_app'@'%'")
	if got := strings.Join(all, "\n"); !strings.Contains(got, "GRANT SELECT, INSERT, UPDATE, DELETE ON `plinth_app`.*") || strings.Contains(got, "ALL PRIVILEGES") {
		t.Errorf("grants:\n%s", got)
	}
	if err := GrantAppUser(ctx, a, "staging", &contract.Inventory{Database: &contract.Database{}}); err == nil ||
		!strings.Contains(err.Error(), "stack staging: inventory has no database.masterSecretArn") {
		t.Errorf("no master secret: %v", err)
	}
}
