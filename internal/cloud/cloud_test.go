package cloud

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/stacks/contract"
)

func TestForPicksTheRecordedCloud(t *testing.T) {
	ctx := context.Background()
	rec := func(name string) Recorded { return func(context.Context, string) (string, error) { return name, nil } }
	for _, tt := range []struct {
		rec  Recorded
		want string
	}{{nil, AWS}, {rec(""), AWS}, {rec("aws"), AWS}, {rec("local"), Local}} {
		c, err := For(ctx, tt.rec, "staging")
		if err != nil || c.Name() != tt.want {
			t.Errorf("For: %v %v, want %s", c, err, tt.want)
		}
	}
	if _, err := For(ctx, rec("gcp"), "staging"); err == nil || !strings.Contains(err.Error(), "staging") {
		t.Errorf("unknown cloud: %v", err)
	}
	boom := func(context.Context, string) (string, error) { return "", errors.New("backend down") }
	if _, err := For(ctx, boom, "staging"); err == nil || !strings.Contains(err.Error(), "backend down") {
		t.Errorf("reader error: %v", err)
	}
}

// TestLocalSaysWhatToPass: each refusal is one line naming the stack, what is missing and the flag to pass.
func TestLocalSaysWhatToPass(t *testing.T) {
	inv := &contract.Inventory{Stack: "staging", Database: &contract.Database{WriterEndpoint: "db:3306"},
		BackupVault: &contract.BackupVault{Bucket: "b"}}
	_, herr := LocalCloud{}.Hosts(context.Background(), "staging", map[string]any{"inventory": map[string]any{}})
	_, derr := LocalCloud{}.DatabaseAddr("staging", inv)
	_, serr := LocalCloud{}.BackupStore("staging", inv)
	for flag, err := range map[string]error{"--inventory FILE": herr, "--dsn": derr, "--store URL": serr} {
		if !errors.Is(err, ErrNotLive) || !strings.Contains(err.Error(), "stack staging lives in the local cloud") ||
			!strings.Contains(err.Error(), "pass "+flag) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line naming staging and %s: %v", flag, err)
		}
	}
}

func TestAWSReadsTheInventory(t *testing.T) {
	inv := &contract.Inventory{Database: &contract.Database{WriterEndpoint: "db.example:3306"}, BackupVault: &contract.BackupVault{Bucket: "vault"}}
	if addr, err := NewAWS().DatabaseAddr("prod", inv); err != nil || addr != "db.example:3306" {
		t.Errorf("addr %q %v", addr, err)
	}
	if u, err := NewAWS().BackupStore("prod", inv); err != nil || u != "gs://vault?prefix=prod/" {
		t.Errorf("store %q %v", u, err)
	}
	if _, err := NewAWS().BackupStore("prod", &contract.Inventory{}); err == nil || !strings.Contains(err.Error(), "pass --store") {
		t.Errorf("no vault: %v", err)
	}
}

// TestAWSWithoutCredentialsIsOneLine: no credentials anywhere (and no instance metadata: the test never
// leaves the machine) gives one line naming the stack, before any API call.
func TestAWSWithoutCredentialsIsOneLine(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "",
	} {
		t.Setenv(k, v)
	}
	out := map[string]any{"inventory": map[string]any{"stack": "production", "region": "eu-west-1",
		"tiers": map[string]any{"app": map[string]any{"asgName": "app-asg", "port": 8080}}}}
	_, err := NewAWS().Hosts(context.Background(), "production", out)
	if !errors.Is(err, ErrNoCredentials) || !strings.HasPrefix(err.Error(), "stack production lives in aws: no AWS credentials") ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one line naming production: %v", err)
	}
}
