package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/cli/cmd/deploy/shared/sharedtest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/rollout"
)

func factory() (*cmdutil.Factory, *bytes.Buffer) {
	io, _, out, _ := iostreams.Test()
	return &cmdutil.Factory{IOStreams: io, Now: time.Now, Getenv: func(string) string { return "" }}, out
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1"}, ""},
		{[]string{"--stack", "s", "--all-tiers", "--version", "v1"}, ""},
		{[]string{"--tier", "app", "--artifact", "a", "--version", "v1"}, "--stack is required"},
		{[]string{"--stack", "s", "--artifact", "a", "--version", "v1"}, "exactly one of --tier or --all-tiers"},
		{[]string{"--stack", "s", "--tier", "app", "--all-tiers", "--artifact", "a", "--version", "v1"}, "exactly one"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a"}, "--version is required"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "../x"}, "--version"},
		{[]string{"--stack", "s", "--tier", "app", "--version", "v1"}, "--artifact is required"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "-o", "yaml"}, "--output"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "--upload-window", "0"}, ""},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "--upload-window", "-1"}, "--upload-window"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "--compress", "lz4"}, "--compress"},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "--cloud", "local"}, ""},
		{[]string{"--stack", "s", "--tier", "app", "--artifact", "a", "--version", "v1", "--cloud", "gcp"}, "--cloud: want aws or local"},
	}
	for _, c := range cases {
		f, _ := factory()
		var got *RunOptions
		cmd := NewCmdRun(f, func(_ context.Context, o *RunOptions) error { got = o; return nil })
		cmd.SetArgs(c.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if c.wantErr == "" {
			if err != nil || got == nil {
				t.Errorf("%v: %v", c.args, err)
			}
			continue
		}
		var fe *cmdutil.FlagError
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.As(err, &fe) {
			t.Errorf("%v: got %v, want usage error %q", c.args, err, c.wantErr)
		}
	}
}

func newOpts(t *testing.T, env *sharedtest.Env, artifact, version string) (*RunOptions, *bytes.Buffer) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	return &RunOptions{IO: io, Connect: env.Connect(), DeployRequest: rollout.DeployRequest{Now: time.Now, Holder: "tester@ci",
		Tier: "app", Artifact: artifact, Version: version, Message: "test deploy"}}, out
}

func TestDeployHumanAndJSON(t *testing.T) {
	env := sharedtest.New(t, 2)
	ctx := context.Background()
	v1 := deploytest.BuildApp(t, "v1", true, 0)
	opts, out := newOpts(t, env, v1, "v1")
	opts.Flags.Output = cmdutil.OutputHuman
	if err := runRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lock", "held by tester@ci", "stage    app-1          upload", "switch   app-2          health   ok", "deploy staging/app v1: succeeded, 2 host(s) switched"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	v2 := deploytest.BuildApp(t, "v2", true, 0)
	opts, out = newOpts(t, env, v2, "v2")
	opts.Flags.Output = cmdutil.OutputJSON
	if err := runRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	// Every line is a JSON object; the last is the summary.
	sc := bufio.NewScanner(out)
	var last map[string]any
	events := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		events++
		last = m
	}
	results, _ := last["results"].([]any)
	if events < 10 || len(results) != 1 || results[0].(map[string]any)["result"] != "succeeded" {
		t.Fatalf("%d events, last %v", events, last)
	}
	for _, p := range env.Ports {
		if v := deploytest.Health(httpClient(), p); v != "v2" {
			t.Fatalf("port %d serves %q", p, v)
		}
	}
}

func TestDeployLockedExitsWithLockedCode(t *testing.T) {
	env := sharedtest.New(t, 1)
	ctx := context.Background()
	if err := env.State.Acquire(ctx, deploy.LockInfo{ID: "x", Holder: "alice@laptop", Stack: "staging", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	opts, out := newOpts(t, env, deploytest.BuildApp(t, "v1", true, 0), "v1")
	err := runRun(ctx, opts)
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitLocked || !strings.Contains(err.Error(), "alice@laptop") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(out.String(), "locked") {
		t.Fatalf("output: %s", out)
	}
}

func TestDeployFailureNamesHost(t *testing.T) {
	env := sharedtest.New(t, 2)
	ctx := context.Background()
	opts, _ := newOpts(t, env, deploytest.BuildApp(t, "v1", true, 0), "v1")
	if err := runRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	cfg := env.Config.Tiers["app"]
	cfg.Health.Retries = 5
	env.Config.Tiers["app"] = cfg
	opts, out := newOpts(t, env, deploytest.BuildApp(t, "v2-bad", false, 0), "v2-bad")
	err := runRun(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "deploy app-1: health") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(out.String(), "simulated failure of v2-bad") || !strings.Contains(out.String(), "failed on app-1") {
		t.Fatalf("output lacks the service log or the host:\n%s", out)
	}
	if v := deploytest.Health(httpClient(), env.Ports[0]); v != "v1" {
		t.Fatalf("app-1 serves %q after rollback", v)
	}
}

func TestDryRunPrintsPlanAndChangesNothing(t *testing.T) {
	env := sharedtest.New(t, 2)
	opts, out := newOpts(t, env, deploytest.BuildApp(t, "v1", true, 0), "v1")
	opts.DryRun = true
	if err := runRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "plan staging/app v1: 2 host(s), batches of 1, >= 1 in service") {
		t.Fatalf("plan:\n%s", out)
	}
	if st, _ := env.State.Status(context.Background(), "staging"); st != nil {
		t.Fatal("dry run took the lock")
	}
}

func TestAllTiersDeploysEachTierInConfigOrderWithItsArtifact(t *testing.T) {
	env := sharedtest.New(t, 2)
	// A worker tier of two hosts whose config names its own artifact (same version, other binary).
	workers := sharedtest.New(t, 2)
	wt := workers.Inventory.Tiers["app"]
	wt.Name = "worker"
	for i := range wt.Hosts {
		wt.Hosts[i].Name = strings.Replace(wt.Hosts[i].Name, "app-", "worker-", 1)
	}
	env.Inventory.Tiers["worker"] = wt
	if err := env.Inventory.Normalize(); err != nil {
		t.Fatal(err)
	}
	appBin := deploytest.BuildApp(t, "v1", true, 0)
	workerBin := deploytest.BuildApp(t, "v1", true, 8<<20) // padded: another sha256
	wcfg := deploytest.TierConfig()
	wcfg.Artifact = workerBin
	env.Config.Tiers["worker"] = wcfg
	env.Config.Order = []string{"worker", "app"}

	opts, out := newOpts(t, env, appBin, "v1")
	opts.Tier, opts.AllTiers = "", true
	opts.Flags.Output = cmdutil.OutputJSON
	if err := runRun(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Results come in config order, both succeeded.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var summary struct {
		Results []struct {
			Tier   string `json:"tier"`
			Result string `json:"result"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	if len(summary.Results) != 2 || summary.Results[0].Tier != "worker" || summary.Results[1].Tier != "app" ||
		summary.Results[0].Result != "succeeded" || summary.Results[1].Result != "succeeded" {
		t.Fatalf("results %+v", summary.Results)
	}
	// Each tier's hosts run v1 from their own artifact.
	sha := func(path string) string { return deploytest.Release(t, path, "v1").SHA256 }
	for tier, want := range map[string]string{"app": sha(appBin), "worker": sha(workerBin)} {
		for _, h := range env.Inventory.Tiers[tier].Hosts {
			if v := deploytest.Health(httpClient(), h.Port); v != "v1" {
				t.Fatalf("%s serves %q", h.Name, v)
			}
			marker, err := os.ReadFile(filepath.Join(h.Root, "releases", "v1", ".complete"))
			if err != nil || !strings.HasPrefix(string(marker), want+" ") {
				t.Fatalf("%s (%s) holds %q, want the %s artifact %s (%v)", h.Name, tier, marker, tier, want, err)
			}
		}
	}
}
