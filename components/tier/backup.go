package tier

import (
	"fmt"
	"strings"

	"github.com/plinth-dev/plinth/components/iampolicy"
	"github.com/plinth-dev/plinth/components/userdata"
)

// backupUnits installs the worker tier's backup units (components/userdata renders them): the service user,
// its state directory (0700), the environment file, the recipients (public keys), the writer's workload
// identity federation credential configuration (no key), the RDS CA bundle the database's certificate is
// verified against, the script fetching the backup user's secret at each start, and the timer and binlog
// streamer, enabled. The units start once plinth is installed at userdata.PlinthBinary (ConditionPathExists).
func backupUnits(b *strings.Builder, bk userdata.Backup, region string) error {
	if bk.Federation == nil {
		return fmt.Errorf("backup units %s: EC2 needs the writer's workload identity federation", bk.Stack)
	}
	env, err := userdata.BackupEnvironmentFileContent(bk)
	if err != nil {
		return err
	}
	rcpt, err := userdata.RecipientsFileContent(bk)
	if err != nil {
		return err
	}
	cred, err := userdata.GCPCredentialConfig(*bk.Federation)
	if err != nil {
		return err
	}
	script, err := userdata.CredentialsScriptContent(bk, region)
	if err != nil {
		return err
	}
	units, err := userdata.BackupUnits(bk)
	if err != nil {
		return err
	}
	u := userdata.BackupUser
	fmt.Fprintf(b, `# Scheduled backups and the binlog streamer (writer identity: workload identity federation, no key).
useradd --system --no-create-home --home-dir %[2]s --shell /sbin/nologin %[1]s 2>/dev/null || true
install -d -o %[1]s -g %[1]s -m 0700 %[2]s
cat > %[3]s <<'ENV'
%[4]sENV
install -o %[1]s -g %[1]s -m 0644 /dev/stdin %[5]s <<'RCPT'
%[6]sRCPT
install -o %[1]s -g %[1]s -m 0644 /dev/stdin %[7]s <<'GCP'
%[8]sGCP
curl -fsS --retry 5 -o %[9]s https://truststore.pki.rds.amazonaws.com/%[10]s/%[10]s-bundle.pem
chown %[1]s:%[1]s %[9]s
install -o root -g root -m 0700 /dev/stdin %[11]s <<'CREDS'
%[12]sCREDS
`, u, userdata.BackupStateDir, userdata.BackupEnvironmentFile, env, userdata.BackupRecipientsFile, rcpt,
		userdata.BackupGCPCredentials, cred, userdata.BackupCAFile, region, userdata.CredentialsScript, script)
	for _, name := range []string{userdata.BackupUnit, userdata.BackupTimer, userdata.BinlogUnit} {
		fmt.Fprintf(b, "cat > /etc/systemd/system/%s <<'UNIT'\n%sUNIT\n", name, units[name])
	}
	fmt.Fprintf(b, "systemctl daemon-reload\nsystemctl enable --now %s %s\n", userdata.BackupTimer, userdata.BinlogUnit)
	return nil
}

// backupStatements let a tier with backup units read the backup user's secret (Secrets Manager appends six
// random characters to a secret's ARN) and nothing else of Secrets Manager.
func backupStatements(args *Args, acct string) []iampolicy.Statement {
	if args.Backup == nil {
		return nil
	}
	return []iampolicy.Statement{iampolicy.Allow([]string{"secretsmanager:GetSecretValue"},
		fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-??????", args.Region, acct, userdata.BackupSecretID(args.Backup.Stack)))}
}
