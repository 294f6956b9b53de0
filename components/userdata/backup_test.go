package userdata

import (
	"encoding/json"
	"strings"
	"testing"
)

// testRecipient is a well-formed age public key (public: a recipient, not an identity).
const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func testBackup() Backup {
	return Backup{Stack: "staging", Schedule: "*-*-* 03:15:00 UTC", Recipients: []string{testRecipient},
		Federation: &Federation{
			Audience:       "//iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/staging-vault-aws/providers/aws",
			ServiceAccount: "staging-vault-writer@plinth-backups-staging.iam.gserviceaccount.com",
		}}
}

// TestBackupUnitsGolden pins the worker's three units, its environment, recipients, credential
// configuration and credentials script.
func TestBackupUnitsGolden(t *testing.T) {
	b := testBackup()
	units, err := BackupUnits(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{BackupUnit, BackupTimer, BinlogUnit} {
		golden(t, name, units[name])
	}
	golden(t, "plinth-backup.env", must(t)(BackupEnvironmentFileContent(b)))
	golden(t, "plinth-backup.recipients", must(t)(RecipientsFileContent(b)))
	golden(t, "gcp-writer.json", must(t)(GCPCredentialConfig(*b.Federation)))
	golden(t, "plinth-backup-credentials.sh", must(t)(CredentialsScriptContent(b, "eu-west-1")))

	for unit, want := range map[string][]string{
		BackupUnit:  {"Type=oneshot", "User=plinth-backup", "ExecStartPre=+" + CredentialsScript, "ExecStart=/usr/local/bin/plinth backup run --stack staging --recipients-file /srv/plinth-backup/recipients"},
		BinlogUnit:  {"Type=simple", "Restart=always", "ExecStart=/usr/local/bin/plinth backup binlog --stack staging", "--cursor /srv/plinth-backup/binlog.cursor"},
		BackupTimer: {"OnCalendar=*-*-* 03:15:00 UTC", "Unit=plinth-backup.service", "Persistent=true"},
	} {
		for _, w := range want {
			if !strings.Contains(units[unit], w) {
				t.Errorf("%s lacks %q:\n%s", unit, w, units[unit])
			}
		}
	}
}

// TestLocalUnitsHaveNoFederation: without federation (the live cloud) the units fetch nothing themselves
// and the environment names no credential configuration.
func TestLocalUnitsHaveNoFederation(t *testing.T) {
	b := testBackup()
	b.Federation = nil
	units, err := BackupUnits(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(units[BackupUnit], "ExecStartPre") || strings.Contains(must(t)(BackupEnvironmentFileContent(b)), EnvGCPCredential) {
		t.Errorf("a local unit fetches credentials:\n%s", units[BackupUnit])
	}
}

func TestGCPCredentialConfigIsKeyless(t *testing.T) {
	var cfg map[string]any
	if err := json.Unmarshal([]byte(must(t)(GCPCredentialConfig(*testBackup().Federation))), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["type"] != "external_account" || cfg["subject_token_type"] != "urn:ietf:params:aws:token-type:aws4_request" {
		t.Errorf("config %v", cfg)
	}
	if _, ok := cfg["private_key"]; ok {
		t.Error("the credential configuration holds a key")
	}
	src := cfg["credential_source"].(map[string]any)
	if src["environment_id"] != "aws1" || src["imdsv2_session_token_url"] == nil {
		t.Errorf("credential source %v: want AWS with IMDSv2", src)
	}
}

// TestParseBackupRoundTrips: what the live cloud reads back from a boot script is what was rendered.
func TestParseBackupRoundTrips(t *testing.T) {
	b := testBackup()
	units, _ := BackupUnits(b)
	script := must(t)(BackupEnvironmentFileContent(b)) + must(t)(RecipientsFileContent(b)) + units[BackupTimer]
	got, ok, err := ParseBackup(script)
	if err != nil || !ok || got.Stack != "staging" || got.Schedule != b.Schedule || len(got.Recipients) != 1 || got.Recipients[0] != testRecipient {
		t.Errorf("ParseBackup: %+v %v %v", got, ok, err)
	}
	if _, ok, err := ParseBackup("#!/bin/bash\nPORT=8080\n"); ok || err != nil {
		t.Errorf("a script without backup units: ok %v, err %v", ok, err)
	}
}

func TestRuntimeEnvironment(t *testing.T) {
	got := must(t)(RuntimeEnvironment("gs://b?prefix=staging/", "10.10.64.10:3306"))
	if got != "PLINTH_BACKUP_STORE=gs://b?prefix=staging/\nPLINTH_DB_ADDR=10.10.64.10:3306\n" {
		t.Errorf("runtime env %q", got)
	}
	if _, err := RuntimeEnvironment("gs://b x", "h:1"); err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("a store with a space: %v", err)
	}
}

func TestBackupBadInputNamesTheField(t *testing.T) {
	mod := func(f func(*Backup)) Backup { b := testBackup(); f(&b); return b }
	for _, tc := range []struct {
		b    Backup
		want string
	}{
		{mod(func(b *Backup) { b.Stack = "Stage X" }), `stack "Stage X"`},
		{mod(func(b *Backup) { b.Schedule = "daily\nExecStart=/bin/sh" }), "schedule"},
		{mod(func(b *Backup) { b.Recipients = nil }), "recipients: want at least one"},
		{mod(func(b *Backup) { b.Recipients = []string{"AGE-SECRET-KEY-1XYZ"} }), "recipients[0]"},
		{mod(func(b *Backup) { b.Federation.Audience = "x" }), "federation audience"},
		{mod(func(b *Backup) { b.Federation.ServiceAccount = "root@example.com" }), "federation service account"},
	} {
		_, err := BackupUnits(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to name %q", err, tc.want)
		}
	}
	if _, err := CredentialsScriptContent(testBackup(), "eu-west-1; rm"); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("bad region: %v", err)
	}
}
