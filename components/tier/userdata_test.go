package tier

import (
	"flag"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestUserDataGolden pins the EC2 boot script of an app instance: key-only sshd, the service unit, its
// environment file and the narrowly scoped sudo rule the deploy engine needs (all from components/userdata).
func TestUserDataGolden(t *testing.T) {
	got, err := UserData(UserDataInput{Tier: "app", SSHUser: "plinth", AuthorizedKeysParameter: "/plinth/staging/ssh/authorized_keys",
		Region: "us-east-1", LogGroup: "/plinth/staging/app", ServicePort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "userdata-app.sh", got)
	for _, must := range []string{"plinth-app.service", "visudo -cf /etc/sudoers.d/plinth-app.new", "PermitOpen 127.0.0.1:8443",
		"ExecStart=/srv/plinth/app/current/app", "EnvironmentFile=/etc/default/plinth-app"} {
		if !strings.Contains(got, must) {
			t.Errorf("user data lacks %q", must)
		}
	}
}

func TestUserDataRejectsBadUser(t *testing.T) {
	if _, err := UserData(UserDataInput{Tier: "app", SSHUser: "x y", ServicePort: 80}); err == nil || !strings.Contains(err.Error(), "tier app") {
		t.Errorf("error %v, want one naming the tier and the user", err)
	}
}

// TestAppUserDataWithDataGolden pins the app instance's boot script when the tier uses the data tier: the
// environment file names the endpoints and the secrets' ids, the unit's ExecStartPre fetches the values from
// Secrets Manager at start; no secret value is in the user data.
func TestAppUserDataWithDataGolden(t *testing.T) {
	d := userdata.Data{Writer: "db.abc.us-east-1.rds.amazonaws.com:3306", Reader: "db-r1.abc.us-east-1.rds.amazonaws.com:3306",
		DBSecretID: userdata.AppDBSecretID("staging"), CacheAddr: "master.cache.abc.use1.cache.amazonaws.com:6379",
		CacheTokenSecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging-utility-cache-auth-token-AbCdEf"}
	got, err := UserData(UserDataInput{Tier: "app", SSHUser: "plinth", AuthorizedKeysParameter: "/plinth/staging/ssh/authorized_keys",
		Region: "us-east-1", LogGroup: "/plinth/staging/app", ServicePort: 8443, Data: &d})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "userdata-app-data.sh", got)
	for _, must := range []string{"PLINTH_DB_WRITER=" + d.Writer, "PLINTH_DB_SECRET_ID=plinth/staging/db-app-user",
		"ExecStartPre=+/usr/local/sbin/plinth-app-secrets", "secretsmanager get-secret-value", "PLINTH_CA_FILE=/srv/plinth/tls/ca.pem"} {
		if !strings.Contains(got, must) {
			t.Errorf("user data lacks %q", must)
		}
	}
	if strings.Contains(got, "PLINTH_DB_PASSWORD=") || strings.Contains(got, "PLINTH_CACHE_TOKEN=") {
		t.Error("user data sets a secret value")
	}
	if _, err := UserData(UserDataInput{Tier: "app", SSHUser: "plinth", Region: "us-east-1", ServicePort: 8443,
		Data: &userdata.Data{Writer: "db"}}); err == nil || !strings.Contains(err.Error(), "tier app") {
		t.Errorf("bad data: %v", err)
	}
}

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, *update, name, got)
}
