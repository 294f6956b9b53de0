package up_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmd/drift"
	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmd/up"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// TestUpThenDriftThroughTheCLI runs `plinth up --cloud local` and `plinth drift` with the real engine (a small
// program), then reads the inventory through the Factory's StackOutputs.
func TestUpThenDriftThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi.staging.yaml"),
		localcloudtest.StackConfig("eu-west-1", "10.10.0.0/16", 1), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULUMI_HOME", t.TempDir())
	env := map[string]string{
		"PLINTH_HOME": t.TempDir(), "PLINTH_PULUMI": localcloudtest.PulumiCLI(t),
		"PULUMI_CONFIG_PASSPHRASE": "cli-e2e", "PLINTH_CLOUD": "local",
	}
	getenv := func(k string) string { return env[k] }
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, ProjectDir: func() (string, error) { return dir, nil }, Getenv: getenv,
		Program: localcloudtest.Program}

	cmd := up.NewCmdUp(f, nil)
	cmd.SetArgs([]string{"--stack", "staging"})
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "+  create   main  aws:ec2/vpc:Vpc") || !strings.Contains(out.String(), "up staging:") {
		t.Errorf("up output:\n%s", out)
	}
	out.Reset()
	dcmd := drift.NewCmdDrift(f, nil)
	dcmd.SetArgs([]string{"--stack", "staging"})
	dcmd.SetOut(ios.Out)
	dcmd.SetErr(ios.ErrOut)
	if err := dcmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("drift on a fresh stack: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "no drift") {
		t.Errorf("drift output:\n%s", out)
	}
	outs, err := engineflags.StackOutputs(getenv, f.ProjectDir)(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := outs["inventory"].(map[string]any)
	if vpc, _ := inv["vpcId"].(string); !strings.HasPrefix(vpc, "vpc-") {
		t.Fatalf("inventory via StackOutputs: %v", outs)
	}
	// The stack recorded its cloud: deploy and backup get one clear line instead of reaching for AWS.
	c, err := cloud.For(context.Background(), engineflags.StackCloud(getenv, f.ProjectDir), "staging")
	if err != nil || c.Name() != cloud.Local {
		t.Fatalf("recorded cloud: %v %v", c, err)
	}
	if _, err := c.Hosts(context.Background(), "staging", outs); !errors.Is(err, cloud.ErrNotLive) ||
		!strings.Contains(err.Error(), "pass --inventory FILE") {
		t.Fatalf("deploy on a local-cloud stack: %v", err)
	}
	// Backup and the drill set up through the Factory's one Opener, which reads the same record.
	f.StackOutputs, f.StackCloud = engineflags.StackOutputs(getenv, f.ProjectDir), engineflags.StackCloud(getenv, f.ProjectDir)
	_, err = f.BackupTargets().Open(context.Background(), target.Request{Flags: target.Flags{Stack: "staging"}})
	if !errors.Is(err, cloud.ErrNotLive) || !strings.Contains(err.Error(), "stack staging lives in the local cloud") ||
		!strings.Contains(err.Error(), "--store") {
		t.Fatalf("backup on a local-cloud stack: %v", err)
	}
}
