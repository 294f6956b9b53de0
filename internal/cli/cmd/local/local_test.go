package local

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

type fakeCloud struct {
	st      cmdutil.LocalStatus
	err     error
	stopped bool
	started bool
	served  string
}

func (f *fakeCloud) Serve(_ context.Context, dir string) error { f.served = dir; return f.err }
func (f *fakeCloud) Status(context.Context) (cmdutil.LocalStatus, error) {
	return f.st, f.err
}
func (f *fakeCloud) Stop(context.Context) (bool, error) { return f.stopped, f.err }
func (f *fakeCloud) Start(context.Context) (cmdutil.LocalStatus, error) {
	f.started = true
	return f.st, f.err
}

func twoStacks() cmdutil.LocalStatus {
	return cmdutil.LocalStatus{Running: true, Stacks: []cmdutil.LocalStackStatus{
		{Stack: "production", URL: "https://127.0.0.1:4", CAFile: "/p/ca.pem", Bastion: "127.0.0.1:5", Hosts: []cmdutil.LocalHostStatus{}},
		{Stack: "staging", URL: "https://127.0.0.1:1", CAFile: "/s/ca.pem", Bastion: "127.0.0.1:2", Hosts: []cmdutil.LocalHostStatus{
			{Name: "app-1", Tier: "app", Address: "10.10.64.10", State: "running"},
			{Name: "bastion-1", Tier: "bastion", Address: "10.10.0.11", State: "degraded"},
		}},
	}}
}

func run(t *testing.T, lc cmdutil.LocalCloud, args ...string) (string, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	cmd := NewCmdLocal(&cmdutil.Factory{IOStreams: ios, LocalCloud: lc})
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestStatusJSONIsTheIssueShape(t *testing.T) {
	out, err := run(t, &fakeCloud{st: twoStacks()}, "status", "--stack", "staging", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	stacks, _ := got["stacks"].([]any)
	if len(got) != 1 || len(stacks) != 1 {
		t.Fatalf("want {stacks:[staging]}: %s", out)
	}
	s := stacks[0].(map[string]any)
	for _, k := range []string{"stack", "url", "caFile", "bastion", "hosts"} {
		if _, ok := s[k]; !ok {
			t.Errorf("stack lacks %s: %s", k, out)
		}
	}
	h := s["hosts"].([]any)[0].(map[string]any)
	if h["name"] != "app-1" || h["tier"] != "app" || h["address"] != "10.10.64.10" || h["state"] != "running" || len(h) != 4 {
		t.Errorf("host: %v", h)
	}
}

func TestStatusHuman(t *testing.T) {
	out, err := run(t, &fakeCloud{st: twoStacks()}, "status")
	if err != nil {
		t.Fatal(err)
	}
	want := `Stack production
  url:      https://127.0.0.1:4
  CA file:  /p/ca.pem
  bastion:  127.0.0.1:5
  no hosts

Stack staging
  url:      https://127.0.0.1:1
  CA file:  /s/ca.pem
  bastion:  127.0.0.1:2
  HOST       TIER     ADDRESS      STATE
  app-1      app      10.10.64.10  running
  bastion-1  bastion  10.10.0.11   degraded
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	out, err = run(t, &fakeCloud{st: cmdutil.LocalStatus{Stacks: []cmdutil.LocalStackStatus{}}}, "status")
	if err != nil || !strings.Contains(out, "not running") {
		t.Errorf("not running: %q %v", out, err)
	}
	out, err = run(t, &fakeCloud{st: cmdutil.LocalStatus{Stacks: []cmdutil.LocalStackStatus{}}}, "status", "-o", "json")
	if err != nil || strings.TrimSpace(out) != "{\n  \"stacks\": []\n}" {
		t.Errorf("not running, JSON: %q %v", out, err)
	}
}

func TestStopServeAndErrors(t *testing.T) {
	if out, err := run(t, &fakeCloud{stopped: true}, "stop"); err != nil || !strings.HasPrefix(out, "Stopped") {
		t.Errorf("stop: %q %v", out, err)
	}
	if out, err := run(t, &fakeCloud{}, "stop"); err != nil || !strings.Contains(out, "was not running") {
		t.Errorf("stop, none running: %q %v", out, err)
	}
	fc := &fakeCloud{}
	if _, err := run(t, fc, "serve", "--local-cloud-dir", "/lc"); err != nil || fc.served != "/lc" {
		t.Errorf("serve: %v %q", err, fc.served)
	}
	var fe *cmdutil.FlagError
	if _, err := run(t, fc, "serve"); !errors.As(err, &fe) {
		t.Errorf("serve without --local-cloud-dir: %v", err)
	}
	if _, err := run(t, fc, "status", "-o", "yaml"); !errors.As(err, &fe) {
		t.Errorf("-o yaml: %v", err)
	}
	if _, err := run(t, &fakeCloud{err: errors.New("live cloud: boom")}, "status"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("status error: %v", err)
	}
	if _, err := run(t, nil, "stop"); !errors.Is(err, errNotLinked) {
		t.Errorf("no live cloud: %v", err)
	}
}

func TestStatusShowsTheDataTier(t *testing.T) {
	st := twoStacks()
	st.Stacks[1].Databases = []cmdutil.LocalDatabaseStatus{
		{Name: "staging-db-primary", Role: "primary", Address: "10.10.128.10"},
		{Name: "staging-db-replica-1", Role: "replica", Address: "10.10.136.10", LagSeconds: -1},
	}
	st.Stacks[1].Caches = []cmdutil.LocalCacheStatus{{Name: "staging-utility-cache-1", Role: "primary", Address: "10.10.128.11"}}
	st.Stacks[1].Vault = &cmdutil.LocalVaultStatus{Bucket: "staging-vault-bucket-1", URL: "https://127.0.0.1:7"}
	st.Stacks[1].Search = "not live"
	out, err := run(t, &fakeCloud{st: st}, "status", "--stack", "staging")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DATABASE", "staging-db-primary       primary  10.10.128.10  0s", "not replicating",
		"staging-utility-cache-1", "vault:    staging-vault-bucket-1 at https://127.0.0.1:7", "search:   not live"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, &fakeCloud{st: st}, "status", "--stack", "staging", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stacks []struct {
			Databases []map[string]any `json:"databases"`
			Caches    []map[string]any `json:"caches"`
			Vault     map[string]any   `json:"vault"`
		} `json:"stacks"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Stacks) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	d := got.Stacks[0].Databases[1]
	if d["name"] != "staging-db-replica-1" || d["role"] != "replica" || d["address"] != "10.10.136.10" || d["lagSeconds"] != -1.0 {
		t.Errorf("database: %v", d)
	}
	if got.Stacks[0].Vault["bucket"] != "staging-vault-bucket-1" || len(got.Stacks[0].Caches) != 1 {
		t.Errorf("vault/caches: %s", out)
	}
}

func TestStartBringsTheStacksBack(t *testing.T) {
	f := &fakeCloud{st: twoStacks()}
	out, err := run(t, f, "start")
	if err != nil {
		t.Fatal(err)
	}
	if !f.started || !strings.Contains(out, "Stack staging") || !strings.Contains(out, "app-1") || !strings.Contains(out, "https://127.0.0.1:1") {
		t.Errorf("start (started=%v):\n%s", f.started, out)
	}
	out, err = run(t, &fakeCloud{st: twoStacks()}, "start", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got cmdutil.LocalStatus
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Stacks) != 2 {
		t.Errorf("start -o json: %v\n%s", err, out)
	}
	if _, err := run(t, &fakeCloud{err: errors.New("nothing to start")}, "start"); err == nil || !strings.Contains(err.Error(), "nothing to start") {
		t.Errorf("start with nothing: %v", err)
	}
}
