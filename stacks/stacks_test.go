package stacks

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/components/componenttest"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
)

var update = flag.Bool("update", false, "rewrite golden files")

var allStacks = []string{environments.Staging, environments.Preproduction, environments.Production}

// stackConfig is the shipped config of stack.
func stackConfig(t *testing.T, stack string) environments.StackConfig {
	t.Helper()
	data, err := environments.EmbeddedStackFile(stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func evaluate(t *testing.T, stack string) *offline.Result {
	t.Helper()
	cfg := stackConfig(t, stack)
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, Run)
	if err != nil {
		t.Fatalf("%s: %v", stack, err)
	}
	return res
}

// TestResourceCountsGolden keeps each stack's resource count per type in testdata/<stack>.counts.json.
func TestResourceCountsGolden(t *testing.T) {
	for _, stack := range allStacks {
		t.Run(stack, func(t *testing.T) {
			res := evaluate(t, stack)
			got, err := json.MarshalIndent(res.CountByType(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", stack+".counts.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./stacks -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s resource counts changed (go test ./stacks -update to accept):\n got %s\nwant %s", stack, got, want)
			}
		})
	}
}

// TestProgramUnderPulumiRun drives the very function Pulumi.yaml runs (cmd/program: pulumi.Run(Program))
// through pulumi.RunErr with the mock engine, config passed the way the engine passes it.
func TestProgramUnderPulumiRun(t *testing.T) {
	data, _ := environments.EmbeddedStackFile("production")
	cfg, _ := environments.ParseStackFile(data)
	rec := offline.NewRecorder(environments.Project, "production")
	err := pulumi.RunErr(Program, pulumi.WithMocks(environments.Project, "production", rec), func(info *pulumi.RunInfo) {
		info.Config = cfg.Values
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Resources()); n != len(evaluate(t, "production").Resources) {
		t.Errorf("Program registered %d resources, Run %d", n, len(evaluate(t, "production").Resources))
	}
}

func TestBadConfigFailsTheProgram(t *testing.T) {
	_, err := offline.Evaluate(environments.Project, "production",
		map[string]string{environments.ConfigKey: `{"environment":"production","azCount":1,"adminCidrs":["0.0.0.0/0"]}`}, nil, Run)
	if err == nil || !strings.Contains(err.Error(), "plinth:spec.azCount") || !strings.Contains(err.Error(), "plinth:spec.adminCidrs[0]") {
		t.Errorf("err = %v, want every problem named", err)
	}
}

// TestHouseRules: every resource but providers and top-level components sits under a component and is
// named from it; every component registered its outputs; every AWS resource carries environment and owner.
func TestHouseRules(t *testing.T) {
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		byURN := res.ByURN()
		components := 0
		for _, r := range res.Resources {
			if strings.HasPrefix(r.Type, "plinth:") {
				components++
				if !strings.HasPrefix(r.Name, stack+"-") {
					t.Errorf("%s: component %s not named from the stack", stack, r.Name)
				}
				continue
			}
			if strings.HasPrefix(r.Type, "pulumi:providers:") {
				continue
			}
			parent, ok := byURN[r.Parent]
			if !ok || parent.Custom {
				t.Errorf("%s: %s %s is not inside a component", stack, r.Type, r.Name)
				continue
			}
			if !strings.HasPrefix(r.Name, parent.Name) {
				t.Errorf("%s: %s is not named from its component %s", stack, r.Name, parent.Name)
			}
			if tags, ok := r.Inputs["tags"].(map[string]any); ok {
				if tags["environment"] != stack || tags["owner"] == nil {
					t.Errorf("%s: %s tags %v lack environment/owner", stack, r.Name, tags)
				}
			}
		}
		if res.OutputRegistrations != components+1 {
			t.Errorf("%s: %d RegisterResourceOutputs for %d components (+1 stack)", stack, res.OutputRegistrations, components)
		}
	}
}

func TestInventoryOutput(t *testing.T) {
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		inv, ok := res.Outputs[InventoryOutput].(map[string]any)
		if !ok {
			t.Fatalf("%s: no inventory output: %v", stack, res.Outputs)
		}
		for _, path := range []string{"stack", "region", "vpcId", "bastion.address", "bastion.asgName", "bastion.sshUser",
			"loadBalancer.dnsName", "tiers.app.asgName", "tiers.app.targetGroupArn", "tiers.app.min", "tiers.worker.asgName",
			"tiers.sftp.asgName", "database.writerEndpoint", "database.masterSecretArn", "cache.primaryEndpoint",
			"search.endpoint", "backupVault.bucket", "backupVault.url", "backupVault.writerServiceAccount",
			"backupVault.restoreServiceAccount", "backupVault.workloadIdentityProvider"} {
			if v := componenttest.Get(inv, path); v == nil || v == "" {
				t.Errorf("%s: inventory.%s missing", stack, path)
			}
		}
		if stack == environments.Production {
			if componenttest.Get(inv, "database.drReplicaId") == "" || len(componenttest.Get(inv, "database.readerEndpoints").([]any)) < 1 {
				t.Errorf("production inventory lacks the DR replica or readers: %v", inv["database"])
			}
		}
	}
}
