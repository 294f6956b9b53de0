package stacks

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
)

const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

// TestWorkerBackupUnitsFromSpec: a spec naming recipients gives the worker tier (only) the backup units,
// federated to the vault's writer, lets its role read the backup user's secret (only), and publishes the
// units' runtime environment; the shipped specs name none and install none.
func TestWorkerBackupUnitsFromSpec(t *testing.T) {
	cfg := stackConfig(t, "staging")
	var spec map[string]any
	if err := json.Unmarshal([]byte(cfg.Values[environments.ConfigKey]), &spec); err != nil {
		t.Fatal(err)
	}
	spec["backupVault"].(map[string]any)["recipients"] = []string{testRecipient}
	raw, _ := json.Marshal(spec)
	cfg.Values[environments.ConfigKey] = string(raw)
	res, err := offline.Evaluate(environments.Project, "staging", cfg.Values, cfg.Secret, Run)
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{}
	for _, lt := range res.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
		b, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
		if err != nil {
			t.Fatal(err)
		}
		scripts[lt.Name] = string(b)
	}
	for name, s := range scripts {
		has := strings.Contains(s, userdata.BackupTimer)
		if has != strings.HasPrefix(name, "staging-worker") {
			t.Errorf("%s: backup units %v", name, has)
		}
	}
	w := scripts["staging-worker-lt"]
	for _, want := range []string{"workloadIdentityPools/staging-vault-aws/providers/aws", "staging-vault-writer@plinth-backups-staging.iam.gserviceaccount.com",
		testRecipient, "OnCalendar=" + environments.DefaultBackupSchedule} {
		if !strings.Contains(w, want) {
			t.Errorf("worker user data lacks %q", want)
		}
	}
	// The names the units use are the vault's.
	for _, typ := range []string{"gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "gcp:serviceaccount/account:Account"} {
		found := false
		for _, r := range res.ByType(typ) {
			found = found || r.Inputs["workloadIdentityPoolId"] == "staging-vault-aws" || r.Inputs["accountId"] == "staging-vault-writer"
		}
		if !found {
			t.Errorf("no %s named as the credential configuration says", typ)
		}
	}
	params := res.ByType("aws:ssm/parameter:Parameter")
	found := 0
	for _, p := range params {
		// The SDK marks every parameter value secret: its content is userdata.RuntimeEnvironment's (tested there).
		if p.Inputs["name"] == userdata.BackupRuntimeParameter("staging") && p.Inputs["type"] == "String" && p.Inputs["value"] != nil {
			found++
		}
	}
	if found != 1 {
		t.Errorf("runtime parameters %d, want 1", found)
	}
	secretReaders := 0
	for _, p := range res.ByType("aws:iam/rolePolicy:RolePolicy") {
		if doc, _ := p.Inputs["policy"].(string); strings.Contains(doc, "db-backup-user") {
			secretReaders++
			if p.Name != "staging-worker-policy" || !strings.Contains(doc, "secret:plinth/staging/db-backup-user-??????") {
				t.Errorf("%s reads the backup user's secret: %s", p.Name, doc)
			}
		}
	}
	if secretReaders != 1 {
		t.Errorf("%d role policies read the backup user's secret, want the worker's", secretReaders)
	}
}
