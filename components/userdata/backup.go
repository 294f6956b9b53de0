package userdata

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The worker tier's backup units: plinth-backup.timer fires plinth-backup.service (`plinth backup run --stack
// S`, a oneshot) on the spec's schedule, and plinth-binlog.service streams the primary's binlog into the
// vault (`plinth backup binlog --stack S`, restarted when it stops). Both run as BackupUser with the vault's
// writer identity and the backup user's credentials, which live only in BackupStateDir (0700):
//   - db.json: the backup user's secret ({"username","password"}, 0600), fetched at each start from Secrets
//     Manager by id on EC2 (CredentialsScript, the units' ExecStartPre), written by the live cloud from its
//     Secrets Manager;
//   - runtime.env: the vault's URL and the primary's address (PLINTH_BACKUP_STORE, PLINTH_DB_ADDR), from the
//     stack's SSM parameter on EC2, from the live platform on the local cloud;
//   - recipients: the age public keys the spec names (never a private key);
//   - the writer identity: on EC2 a workload identity federation credential configuration (no key: the
//     instance role's credentials are exchanged for the writer service account's), on the local cloud the
//     live vault's writer token (0600).
//
// The same renderer writes them for EC2 (components/tier) and for the live local cloud's worker hosts.

// Paths and names of the backup units.
const (
	// BackupUser runs the backup units (no login, no sudo).
	BackupUser = "plinth-backup"
	// BackupStateDir holds the units' credentials, recipients and the binlog streamer's cursor.
	BackupStateDir = "/srv/plinth-backup"
	// PlinthBinary is the plinth executable the units run.
	PlinthBinary = "/usr/local/bin/plinth"
	// BackupEnvironmentFile is the units' static environment.
	BackupEnvironmentFile = EnvironmentDir + "/plinth-backup"
	// BackupUnit, BackupTimer and BinlogUnit are the units' names.
	BackupUnit  = "plinth-backup.service"
	BackupTimer = "plinth-backup.timer"
	BinlogUnit  = "plinth-binlog.service"
	// CredentialsScript fetches the backup user's secret and the runtime environment (EC2).
	CredentialsScript = "/usr/local/sbin/plinth-backup-credentials"
	// BinlogServerID is the streamer's replica server id.
	BinlogServerID = 4242
)

// Files under BackupStateDir.
const (
	BackupSecretFile     = BackupStateDir + "/db.json"
	BackupRuntimeEnvFile = BackupStateDir + "/runtime.env"
	BackupRecipientsFile = BackupStateDir + "/recipients"
	BackupCAFile         = BackupStateDir + "/db-ca.pem"
	BackupGCPCredentials = BackupStateDir + "/gcp-writer.json"
	BackupWriterToken    = BackupStateDir + "/writer.token"
	BinlogCursorFile     = BackupStateDir + "/binlog.cursor"
)

// Environment variables the units set (read by internal/backup/target; keep the names in step).
const (
	EnvBackupStack   = "PLINTH_BACKUP_STACK"
	EnvBackupStore   = "PLINTH_BACKUP_STORE"
	EnvDBSecretFile  = "PLINTH_DB_SECRET_FILE"
	EnvDBAddr        = "PLINTH_DB_ADDR"
	EnvDBCAFile      = "PLINTH_DB_CA_FILE"
	EnvGCPCredential = "GOOGLE_APPLICATION_CREDENTIALS"
)

// Backup parameterises the backup units of a stack's worker tier.
type Backup struct {
	Stack string
	// Schedule is the timer's OnCalendar expression.
	Schedule string
	// Recipients are age public keys.
	Recipients []string
	// Federation, on EC2, is the writer identity's workload identity federation (nil on the local cloud).
	Federation *Federation
}

// Federation names the GCP side of workload identity federation: the pool provider's audience and the
// writer service account the instance role is exchanged for.
type Federation struct {
	// Audience is //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.
	Audience string
	// ServiceAccount is the writer's e-mail.
	ServiceAccount string
}

var (
	stackRE     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	scheduleRE  = regexp.MustCompile(`^[A-Za-z0-9*:/,. ~+-]{1,64}$`)
	recipientRE = regexp.MustCompile(`^age1[02-9ac-hj-np-z]{58}$`)
	audienceRE  = regexp.MustCompile(`^//iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)
	saEmailRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{4,29}@[a-z][a-z0-9-]{4,29}\.iam\.gserviceaccount\.com$`)
)

// Validate names the field at fault.
func (b Backup) Validate() error {
	if !stackRE.MatchString(b.Stack) {
		return fmt.Errorf("backup units: stack %q: want a lower-case stack name", b.Stack)
	}
	if !scheduleRE.MatchString(b.Schedule) {
		return fmt.Errorf("backup units %s: schedule %q: want a systemd OnCalendar expression", b.Stack, b.Schedule)
	}
	if len(b.Recipients) == 0 {
		return fmt.Errorf("backup units %s: recipients: want at least one age public key", b.Stack)
	}
	for i, r := range b.Recipients {
		if !recipientRE.MatchString(r) {
			return fmt.Errorf("backup units %s: recipients[%d] %q: want an age X25519 public key", b.Stack, i, r)
		}
	}
	if b.Federation != nil {
		if err := b.Federation.validate(); err != nil {
			return fmt.Errorf("backup units %s: %w", b.Stack, err)
		}
	}
	return nil
}

func (f Federation) validate() error {
	if !audienceRE.MatchString(f.Audience) {
		return fmt.Errorf("federation audience %q: want a workload identity pool provider", f.Audience)
	}
	if !saEmailRE.MatchString(f.ServiceAccount) {
		return fmt.Errorf("federation service account %q: want a service account e-mail", f.ServiceAccount)
	}
	return nil
}

// BackupEnvironment is the units' static environment, in order: the stack, where the backup user's secret
// and the database's CA are, and on EC2 the writer's credential configuration (Application Default
// Credentials).
func (b Backup) BackupEnvironment() [][2]string {
	env := [][2]string{
		{EnvBackupStack, b.Stack},
		{EnvDBSecretFile, BackupSecretFile},
		{EnvDBCAFile, BackupCAFile},
	}
	if b.Federation != nil {
		env = append(env, [2]string{EnvGCPCredential, BackupGCPCredentials})
	}
	return env
}

// BackupEnvironmentFileContent renders BackupEnvironmentFile.
func BackupEnvironmentFileContent(b Backup) (string, error) {
	if err := b.Validate(); err != nil {
		return "", err
	}
	var s strings.Builder
	s.WriteString("# plinth backup units' environment (generated: components/userdata); secrets live in " + BackupStateDir + "\n")
	for _, kv := range b.BackupEnvironment() {
		fmt.Fprintf(&s, "%s=%s\n", kv[0], kv[1])
	}
	return s.String(), nil
}

// RecipientsFileContent renders BackupRecipientsFile: the public keys, one a line.
func RecipientsFileContent(b Backup) (string, error) {
	if err := b.Validate(); err != nil {
		return "", err
	}
	return "# age recipients of stack " + b.Stack + "'s backups (public keys only)\n" + strings.Join(b.Recipients, "\n") + "\n", nil
}

// RuntimeEnvironment renders BackupRuntimeEnvFile: the vault's URL (the writer's) and the primary's
// host:port. The EC2 stack keeps it in its SSM parameter; the live cloud writes it on the worker hosts.
func RuntimeEnvironment(store, dbAddr string) (string, error) {
	for name, v := range map[string]string{"store": store, "database address": dbAddr} {
		if v == "" || strings.ContainsAny(v, " \t\r\n\"'`$\\") {
			return "", fmt.Errorf("backup runtime environment: %s %q: want one word", name, v)
		}
	}
	return fmt.Sprintf("%s=%s\n%s=%s\n", EnvBackupStore, store, EnvDBAddr, dbAddr), nil
}

// BackupRuntimeParameter is the SSM parameter holding a stack's RuntimeEnvironment (EC2).
func BackupRuntimeParameter(stack string) string { return "/plinth/" + stack + "/backup/runtime-env" }

// BackupSecretID is the Secrets Manager id of the stack's backup user (internal/cloud.BackupUserSecretID).
func BackupSecretID(stack string) string { return "plinth/" + stack + "/db-backup-user" }

// BackupCommand and BinlogCommand are the units' ExecStart argv.
func (b Backup) BackupCommand() []string {
	return []string{PlinthBinary, "backup", "run", "--stack", b.Stack, "--recipients-file", BackupRecipientsFile, "--quiet"}
}

func (b Backup) BinlogCommand() []string {
	return []string{PlinthBinary, "backup", "binlog", "--stack", b.Stack, "--recipients-file", BackupRecipientsFile,
		"--server-id", fmt.Sprint(BinlogServerID), "--cursor", BinlogCursorFile}
}

// BackupUnits renders the three units: name -> content.
func BackupUnits(b Backup) (map[string]string, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	pre := ""
	if b.Federation != nil {
		pre = "ExecStartPre=+" + CredentialsScript + "\n"
	}
	service := func(desc, kind, argv, extra string) string {
		return fmt.Sprintf(`[Unit]
Description=plinth %[1]s of stack %[2]s (generated: components/userdata)
After=network-online.target
Wants=network-online.target
ConditionPathExists=%[3]s

[Service]
Type=%[4]s
User=%[5]s
Group=%[5]s
EnvironmentFile=%[6]s
EnvironmentFile=-%[7]s
%[8]sExecStart=%[9]s
%[10]sNoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=%[11]s
PrivateTmp=yes
StandardOutput=journal
StandardError=journal
`, desc, b.Stack, PlinthBinary, kind, BackupUser, BackupEnvironmentFile, BackupRuntimeEnvFile, pre, argv, extra, BackupStateDir)
	}
	return map[string]string{
		BackupUnit: service("backup", "oneshot", strings.Join(b.BackupCommand(), " "), "TimeoutStartSec=6h\n"),
		BinlogUnit: service("binlog streamer", "simple", strings.Join(b.BinlogCommand(), " "), "Restart=always\nRestartSec=10\n") +
			"\n[Install]\nWantedBy=multi-user.target\n",
		BackupTimer: fmt.Sprintf(`[Unit]
Description=plinth scheduled backup of stack %[1]s (generated: components/userdata)

[Timer]
OnCalendar=%[2]s
Persistent=true
RandomizedDelaySec=10min
Unit=%[3]s

[Install]
WantedBy=timers.target
`, b.Stack, b.Schedule, BackupUnit),
	}, nil
}

// GCPCredentialConfig renders the writer's credential configuration for workload identity federation from
// AWS (what `gcloud iam workload-identity-pools create-cred-config --aws --enable-imdsv2` writes): the
// instance role's credentials, read from IMDSv2, are exchanged at Google's STS for a token impersonating the
// writer service account. No key file exists anywhere.
func GCPCredentialConfig(f Federation) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	const imds = "http://169.254.169.254/latest"
	cfg := map[string]any{
		"type":                              "external_account",
		"audience":                          f.Audience,
		"subject_token_type":                "urn:ietf:params:aws:token-type:aws4_request",
		"token_url":                         "https://sts.googleapis.com/v1/token",
		"service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" + f.ServiceAccount + ":generateAccessToken",
		"credential_source": map[string]string{
			"environment_id":                 "aws1",
			"region_url":                     imds + "/meta-data/placement/availability-zone",
			"url":                            imds + "/meta-data/iam/security-credentials",
			"regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
			"imdsv2_session_token_url":       imds + "/api/token",
		},
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	return string(out) + "\n", nil
}

// CredentialsScriptContent renders CredentialsScript (EC2; run as root by the units' ExecStartPre): the
// backup user's secret from Secrets Manager and the runtime environment from SSM, each written 0600 for
// BackupUser and moved into place, never printed.
func CredentialsScriptContent(b Backup, region string) (string, error) {
	if err := b.Validate(); err != nil {
		return "", err
	}
	if !regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`).MatchString(region) {
		return "", fmt.Errorf("backup units %s: region %q: want an AWS region", b.Stack, region)
	}
	return fmt.Sprintf(`#!/bin/sh
# plinth backup units' credentials (generated: components/userdata): fetched at each start with the instance
# role, written only for %[1]s, never printed.
set -eu
umask 077
dir=%[2]s
aws --region %[3]s secretsmanager get-secret-value --secret-id '%[4]s' --query SecretString --output text > "$dir/db.json.new"
aws --region %[3]s ssm get-parameter --name '%[5]s' --query Parameter.Value --output text > "$dir/runtime.env.new"
chown %[1]s:%[1]s "$dir/db.json.new" "$dir/runtime.env.new"
mv "$dir/db.json.new" %[6]s
mv "$dir/runtime.env.new" %[7]s
`, BackupUser, BackupStateDir, region, BackupSecretID(b.Stack), BackupRuntimeParameter(b.Stack), BackupSecretFile, BackupRuntimeEnvFile), nil
}

var (
	parseStackRE     = regexp.MustCompile(`(?m)^` + EnvBackupStack + `=(\S+)$`)
	parseScheduleRE  = regexp.MustCompile(`(?m)^OnCalendar=(.+)$`)
	parseRecipientRE = regexp.MustCompile(`(?m)^(age1[02-9ac-hj-np-z]{58})$`)
)

// ParseBackup reads the backup units a boot script installs (what the live local cloud derives a worker
// host's units from): the stack of the environment file, the timer's schedule and the recipients file's keys.
// ok is false when the script installs none.
func ParseBackup(script string) (b Backup, ok bool, err error) {
	m := parseStackRE.FindStringSubmatch(script)
	if m == nil {
		return Backup{}, false, nil
	}
	b.Stack = m[1]
	if m := parseScheduleRE.FindStringSubmatch(script); m != nil {
		b.Schedule = m[1]
	}
	for _, r := range parseRecipientRE.FindAllStringSubmatch(script, -1) {
		b.Recipients = append(b.Recipients, r[1])
	}
	return b, true, b.Validate()
}
