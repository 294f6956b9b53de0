package tier

import (
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
)

// TestWorkerUserDataGolden pins the worker's boot script with its backup units (components/userdata): the
// timer and binlog streamer enabled, the writer's keyless credential configuration, the recipients (public
// keys only), and the script fetching the backup user's secret by id (never its value).
func TestWorkerUserDataGolden(t *testing.T) {
	bk := &userdata.Backup{Stack: "staging", Schedule: "*-*-* 03:15:00 UTC",
		Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"},
		Federation: &userdata.Federation{
			Audience:       "//iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/staging-vault-aws/providers/aws",
			ServiceAccount: "staging-vault-writer@plinth-backups-staging.iam.gserviceaccount.com",
		}}
	got, err := UserData(UserDataInput{Tier: "worker", SSHUser: "plinth", AuthorizedKeysParameter: "/plinth/staging/ssh/authorized_keys",
		Region: "eu-west-1", LogGroup: "/plinth/staging/worker", ServicePort: 8080, Backup: bk})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "userdata-worker.sh", got)
	for _, must := range []string{"systemctl enable --now plinth-backup.timer plinth-binlog.service", "\"type\": \"external_account\"",
		"secretsmanager get-secret-value --secret-id 'plinth/staging/db-backup-user'", "install -d -o plinth-backup -g plinth-backup -m 0700 /srv/plinth-backup",
		"PLINTH_BACKUP_STACK=staging"} {
		if !strings.Contains(got, must) {
			t.Errorf("user data lacks %q", must)
		}
	}
	for _, never := range []string{"AGE-SECRET-KEY", "private_key", "PLINTH_DB_PASSWORD"} {
		if strings.Contains(got, never) {
			t.Errorf("user data holds %q", never)
		}
	}
	if b, ok, err := userdata.ParseBackup(got); err != nil || !ok || b.Stack != "staging" || b.Schedule != bk.Schedule {
		t.Errorf("the live cloud reads back %+v %v %v", b, ok, err)
	}
}

func TestBackupStatementsOnlyWithUnits(t *testing.T) {
	if s := backupStatements(&Args{}, "111111111111"); s != nil {
		t.Errorf("statements without units: %v", s)
	}
	s := backupStatements(&Args{Region: "eu-west-1", Backup: &userdata.Backup{Stack: "staging"}}, "111111111111")
	if len(s) != 1 || s[0].Action[0] != "secretsmanager:GetSecretValue" ||
		s[0].Resource[0] != "arn:aws:secretsmanager:eu-west-1:111111111111:secret:plinth/staging/db-backup-user-??????" {
		t.Errorf("statements %+v", s)
	}
}
