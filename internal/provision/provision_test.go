package provision_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/localcloud"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/stacks"
)

func pulumiBin(t *testing.T) string { return localcloudtest.PulumiCLI(t) }

type fixture struct {
	t       *testing.T
	home    string
	cloud   *localcloud.Store
	bin     string
	rev     provision.Revision
	program pulumi.RunFunc
	configs map[string][]byte
	events  []provision.Event
	mu      sync.Mutex
}

// newFixture runs the real program (stacks.Program) on the shipped stack configs.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := newTinyFixture(t)
	f.program = stacks.Program
	f.configs = map[string][]byte{}
	for _, s := range environments.Stacks() {
		data, err := environments.EmbeddedStackFile(s)
		if err != nil {
			t.Fatal(err)
		}
		f.configs[s] = data
	}
	return f
}

// newTinyFixture runs a small program of a few aws and gcp resources (engine plumbing tests).
func newTinyFixture(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	store, err := localcloud.NewStore(filepath.Join(home, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		t: t, home: home, cloud: store, bin: pulumiBin(t),
		rev:     provision.Revision{Commit: "0123456789abcdef0123456789abcdef01234567", ConfigHash: "c0ffee"},
		program: localcloudtest.Program,
		configs: map[string][]byte{
			"staging":       localcloudtest.StackConfig("eu-west-1", "10.10.0.0/16", 1),
			"preproduction": localcloudtest.StackConfig("eu-west-1", "10.20.0.0/16", 2),
			"production":    localcloudtest.StackConfig("eu-west-1", "10.30.0.0/16", 3),
		},
	}
}

func (f *fixture) options(stack string) provision.Options {
	return provision.Options{
		Stack: stack, Program: f.program, StackConfig: f.configs[stack],
		Home: f.home, Cloud: provision.CloudLocal, LocalCloudDir: f.cloud.Dir(),
		PulumiCommand: f.bin, PulumiHome: filepath.Join(f.home, "pulumi-home"),
		Revision: f.rev,
		Getenv: func(k string) string {
			if k == "PULUMI_CONFIG_PASSPHRASE" {
				return "plinth-test-passphrase"
			}
			return ""
		},
		OnEvent: func(e provision.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
}

func (f *fixture) open(stack string) *provision.Engine {
	f.t.Helper()
	e, err := provision.Open(context.Background(), f.options(stack))
	if err != nil {
		f.t.Fatalf("open %s: %v", stack, err)
	}
	f.t.Cleanup(e.Close)
	return e
}

func (f *fixture) tags(stack string) map[string]string {
	f.t.Helper()
	e := f.open(stack)
	defer e.Close()
	tags, err := e.Tags(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return tags
}

func (f *fixture) up(stack string, uo provision.UpOptions) (provision.Result, error) {
	f.t.Helper()
	e, err := provision.Open(context.Background(), f.options(stack))
	if err != nil {
		return provision.Result{}, err
	}
	defer e.Close()
	return e.Up(context.Background(), uo)
}

func (f *fixture) mustUp(stack string) provision.Result {
	f.t.Helper()
	res, err := f.up(stack, provision.UpOptions{})
	if err != nil {
		f.t.Fatalf("up %s: %v", stack, err)
	}
	return res
}

func (f *fixture) resources(stack string) []localcloud.Resource {
	f.t.Helper()
	rs, err := f.cloud.List(stack)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func TestUpEachStackThenNoChangePreview(t *testing.T) {
	f := newFixture(t)
	for _, stack := range []string{"staging", "preproduction", "production"} {
		res := f.mustUp(stack)
		if res.Changes["create"] < 50 {
			t.Fatalf("up %s: %+v: want the whole platform created", stack, res.Changes)
		}
		e := f.open(stack)
		outs, err := e.Outputs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		inv, ok := outs["inventory"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no inventory output: %v", stack, outs)
		}
		if inv["stack"] != stack {
			t.Errorf("%s: inventory.stack = %v", stack, inv["stack"])
		}
		if vpc, _ := inv["vpcId"].(string); !strings.HasPrefix(vpc, "vpc-") {
			t.Errorf("%s: inventory.vpcId = %q, want vpc-...", stack, vpc)
		}
		lb, _ := inv["loadBalancer"].(map[string]any)
		if dns, _ := lb["dnsName"].(string); !strings.HasSuffix(dns, ".elb.amazonaws.com") {
			t.Errorf("%s: load balancer dnsName %q", stack, dns)
		}
		tiers, _ := inv["tiers"].(map[string]any)
		app, _ := tiers["app"].(map[string]any)
		if asg, _ := app["asgName"].(string); !strings.HasPrefix(asg, stack+"-app-asg") {
			t.Errorf("%s: tiers.app.asgName %q", stack, asg)
		}
		bastion, _ := inv["bastion"].(map[string]any)
		if addr, _ := bastion["address"].(string); !strings.HasPrefix(addr, "203.0.113.") && !strings.HasPrefix(addr, "198.51.100.") {
			t.Errorf("%s: bastion address %q", stack, addr)
		}
		pre, err := e.Preview(context.Background(), provision.PreviewOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for op, n := range pre.Changes {
			if op != "same" && n > 0 {
				t.Errorf("%s: no-change preview shows %d %s", stack, n, op)
			}
		}
		tags, err := e.Tags(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tags[provision.TagCommit] != f.rev.Commit || tags[provision.TagConfigHash] != f.rev.ConfigHash {
			t.Errorf("%s: tags %v do not record revision %+v", stack, tags, f.rev)
		}
		e.Close()
	}
	var sawProgress bool
	for _, e := range f.events {
		if e.Kind == provision.EventDone && e.Op == "create" && e.Type == "aws:ec2/vpc:Vpc" {
			sawProgress = true
		}
	}
	if !sawProgress {
		t.Error("no create event for the VPC")
	}
}

// TestExplicitProvidersReachTheLocalCloud checks that each explicit provider's region/project is honoured.
func TestExplicitProvidersReachTheLocalCloud(t *testing.T) {
	f := newTinyFixture(t)
	res := f.mustUp("staging")
	if rs := f.resources("staging"); len(rs) != res.Changes["create"]-4 { // minus the stack and three providers
		t.Errorf("local cloud has %d resources, engine created %d (incl. stack + 3 providers)", len(rs), res.Changes["create"])
	}
	for _, r := range f.resources("staging") {
		switch r.Type {
		case "aws:s3/bucketV2:BucketV2":
			if r.Region != "eu-central-1" {
				t.Errorf("dr bucket in %q, want eu-central-1", r.Region)
			}
		case "aws:ec2/vpc:Vpc":
			if r.Region != "eu-west-1" {
				t.Errorf("vpc in %q, want eu-west-1", r.Region)
			}
		case "gcp:storage/bucket:Bucket":
			if r.Project != "plinth-vault-test" {
				t.Errorf("vault bucket in project %q", r.Project)
			}
		}
	}
	// The stack lives in the local cloud: opening it for the real clouds is refused.
	o := f.options("staging")
	o.Cloud = provision.CloudAWS
	if _, err := provision.Open(context.Background(), o); !errors.Is(err, provision.ErrCloudMismatch) {
		t.Fatalf("open a local stack with --cloud aws: got %v", err)
	}
}

func TestSavedPlanAppliesAndStalePlanIsRefused(t *testing.T) {
	f := newFixture(t)
	plan := filepath.Join(t.TempDir(), "staging.plan.json")
	e := f.open("staging")
	pre, err := e.Preview(context.Background(), provision.PreviewOptions{SavePlan: plan})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if pre.PlanSHA256 == "" {
		t.Fatal("no plan sha256")
	}
	res, err := f.up("staging", provision.UpOptions{Plan: plan})
	if err != nil {
		t.Fatalf("up --plan: %v", err)
	}
	if res.PlanSHA256 != pre.PlanSHA256 {
		t.Errorf("applied sha %s, previewed %s", res.PlanSHA256, pre.PlanSHA256)
	}
	tags := f.tags("staging")
	if tags[provision.TagPlanSHA256] != pre.PlanSHA256 {
		t.Errorf("plan sha tag %q, want %q", tags[provision.TagPlanSHA256], pre.PlanSHA256)
	}

	// A config change after the plan: refused.
	plan2 := filepath.Join(t.TempDir(), "staging2.plan.json")
	shipped := f.configs["staging"]
	e = f.open("staging")
	if _, err := e.Preview(context.Background(), provision.PreviewOptions{SavePlan: plan2}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	changed := bytes.Replace(shipped, []byte("owner: platform-team"), []byte("owner: platform-team-b"), 1)
	if bytes.Equal(changed, shipped) {
		t.Fatal("test setup: staging config has no owner: platform-team to change")
	}
	f.configs["staging"] = changed
	before := f.resources("staging")
	_, err = f.up("staging", provision.UpOptions{Plan: plan2})
	if !errors.Is(err, provision.ErrPlanRefused) {
		t.Fatalf("config changed after plan: got %v, want ErrPlanRefused", err)
	}
	t.Logf("config change refused: %v", err)
	assertDesired(t, before, f.resources("staging"))

	// A program change after the plan: refused.
	f.configs["staging"] = shipped
	f.program = func(ctx *pulumi.Context) error {
		if err := stacks.Program(ctx); err != nil {
			return err
		}
		var extra struct{ pulumi.CustomResourceState }
		return ctx.RegisterResource("aws:sns/topic:Topic", "alerts", pulumi.Map{}, &extra)
	}
	_, err = f.up("staging", provision.UpOptions{Plan: plan2})
	if !errors.Is(err, provision.ErrPlanRefused) {
		t.Fatalf("program changed after plan: got %v, want ErrPlanRefused", err)
	}
	t.Logf("program change refused: %v", err)
}

// assertDesired checks a refused up changed nothing in the cloud.
func assertDesired(t *testing.T, before, after []localcloud.Resource) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("refused up changed the cloud: %d resources before, %d after", len(before), len(after))
	}
	for i := range before {
		if !before[i].Updated.Equal(after[i].Updated) {
			t.Errorf("refused up changed %s", after[i].URN)
		}
	}
}

func TestDriftIsFoundNamedAndClearedByRefresh(t *testing.T) {
	f := newFixture(t)
	f.mustUp("staging")
	e := f.open("staging")
	rep, err := e.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.HasDrift || rep.Checked == 0 {
		t.Fatalf("fresh stack: drift %+v", rep)
	}
	if err := f.cloud.Drift("staging", "staging-network-vpc", "tags", map[string]any{"owner": "someone-in-the-console"}); err != nil {
		t.Fatal(err)
	}
	if err := f.cloud.Remove("staging", "staging-app-logs"); err != nil {
		t.Fatal(err)
	}
	f.events = nil
	rep, err = e.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var refreshedEvents int
	for _, ev := range f.events {
		if ev.Kind == provision.EventRefreshed {
			refreshedEvents++
		}
	}
	if refreshedEvents != 2 {
		t.Errorf("%d refreshed events, want 2", refreshedEvents)
	}
	names := map[string]string{}
	for _, d := range rep.Drifted {
		names[d.Name] = d.Op
	}
	if !rep.HasDrift || names["staging-network-vpc"] != "update" || names["staging-app-logs"] != "delete" {
		t.Fatalf("drift report %+v: want the vpc (changed) and the app log group (deleted)", rep)
	}
	if len(names) != 2 {
		t.Errorf("drift names %v: want only the vpc and the log group", names)
	}
	if _, err := e.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err = e.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.HasDrift {
		t.Fatalf("after refresh: drift %+v", rep)
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.mustUp("staging")
	e := f.open("staging")
	if _, err := e.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rs := f.resources("staging"); len(rs) != 0 {
		t.Fatalf("after destroy the local cloud still has %d resources: %v", len(rs), rs[0].URN)
	}
	outs, err := e.Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 0 {
		t.Errorf("outputs after destroy: %v", outs)
	}
}

// TestPromotionGate uses the small program: the gate is decided before the program runs.
func TestPromotionGate(t *testing.T) {
	f := newTinyFixture(t)
	_, err := f.up("production", provision.UpOptions{})
	if !errors.Is(err, provision.ErrPromotionRefused) {
		t.Fatalf("production before preproduction: got %v, want ErrPromotionRefused", err)
	}
	if rs := f.resources("production"); len(rs) != 0 {
		t.Fatalf("refused up created %d resources", len(rs))
	}
	f.mustUp("preproduction")
	f.mustUp("production")

	// A new revision: refused until preproduction applies it; an audited override lets it through.
	f.rev.Commit = "fedcba9876543210fedcba9876543210fedcba98"
	_, err = f.up("production", provision.UpOptions{})
	if !errors.Is(err, provision.ErrPromotionRefused) {
		t.Fatalf("new revision: got %v, want ErrPromotionRefused", err)
	}
	res, err := f.up("production", provision.UpOptions{OverridePromotion: "hotfix INC-42", Operator: "alice"})
	if err != nil {
		t.Fatalf("override: %v", err)
	}
	if !strings.Contains(res.Override, "INC-42") || !strings.Contains(res.Override, "alice") {
		t.Errorf("override record %q", res.Override)
	}
	tags := f.tags("production")
	if !strings.Contains(tags[provision.TagOverride], "INC-42") {
		t.Errorf("override not recorded on the stack: %v", tags)
	}
	var audited bool
	for _, e := range f.events {
		audited = audited || (e.Kind == provision.EventAudit && strings.Contains(e.Message, "INC-42"))
	}
	if !audited {
		t.Error("no audit event for the override")
	}
	// A dirty tree is never promoted.
	f.rev.Dirty = true
	if _, err := f.up("production", provision.UpOptions{}); !errors.Is(err, provision.ErrPromotionRefused) {
		t.Fatalf("dirty tree: got %v", err)
	}
}

func TestConcurrentUpIsRefused(t *testing.T) {
	f := newTinyFixture(t)
	first := f.open("staging")
	_, err := provision.Open(context.Background(), f.options("staging"))
	if !errors.Is(err, provision.ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	// Two ups racing: exactly one runs, the other is refused as locked.
	first.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.up("staging", provision.UpOptions{})
		}()
	}
	wg.Wait()
	var ok, locked int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, provision.ErrLocked):
			locked++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || locked != 1 {
		t.Fatalf("racing ups: %d succeeded, %d locked (%v)", ok, locked, errs)
	}
}

func TestCorruptStateIsAClearErrorAndUntouched(t *testing.T) {
	f := newTinyFixture(t)
	f.mustUp("staging")
	statePath := filepath.Join(f.home, "state", ".pulumi", "stacks", "plinth", "staging.json")
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("state file: %v", err)
	}
	garbage := []byte(`{"version": 3, "checkpoint": {"latest": {"resources": [ this is not json`)
	if err := os.WriteFile(statePath, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	cloudBefore := f.resources("staging")
	_, err := f.up("staging", provision.UpOptions{})
	if err == nil {
		t.Fatal("up on a corrupt state succeeded")
	}
	if !errors.Is(err, provision.ErrCorruptState) {
		t.Errorf("error %q does not say the state is unreadable", err)
	}
	t.Logf("corrupt state: %v", err)
	got, rerr := os.ReadFile(statePath)
	if rerr != nil || !bytes.Equal(got, garbage) {
		t.Fatalf("corrupt state was rewritten (err %v)", rerr)
	}
	assertDesired(t, cloudBefore, f.resources("staging"))

	// A corrupt local cloud state is a clear error too, and left as it is.
	f2 := newTinyFixture(t)
	f2.mustUp("staging")
	cloudPath := f2.cloud.Path("staging")
	if err := os.WriteFile(cloudPath, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	e := f2.open("staging")
	_, err = e.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("refresh on a corrupt local cloud: %v", err)
	}
	if got, _ := os.ReadFile(cloudPath); !bytes.Equal(got, garbage) {
		t.Fatal("corrupt local cloud state was rewritten")
	}
}

func TestPassphraseIsGeneratedOnceWith0600(t *testing.T) {
	f := newTinyFixture(t)
	o := f.options("staging")
	o.Getenv = func(string) string { return "" }
	start := time.Now()
	e, err := provision.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	st, err := os.Stat(filepath.Join(f.home, "passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("passphrase mode %v", st.Mode().Perm())
	}
	first, _ := os.ReadFile(filepath.Join(f.home, "passphrase"))
	e, err = provision.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	again, _ := os.ReadFile(filepath.Join(f.home, "passphrase"))
	if !bytes.Equal(first, again) {
		t.Error("passphrase regenerated")
	}
	_ = start
}

func TestReadOutputsFeedsTheInventory(t *testing.T) {
	f := newTinyFixture(t)
	o := f.options("staging")
	o.Program = nil
	if _, err := provision.ReadOutputs(context.Background(), o); !errors.Is(err, provision.ErrNoStack) {
		t.Fatalf("outputs of a stack never applied: got %v, want ErrNoStack", err)
	}
	f.mustUp("staging")
	// Read while the stack is locked by another operation: outputs need no lock.
	holder := f.open("staging")
	defer holder.Close()
	outs, err := provision.ReadOutputs(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := outs["inventory"].(map[string]any)
	if vpc, _ := inv["vpcId"].(string); !strings.HasPrefix(vpc, "vpc-") {
		t.Fatalf("inventory %v", outs)
	}
}

// TestEngineLockFromAnotherMachineIsRefused: another host's update holds the backend's lock (the engine's own
// lock, which plinth's per-machine lock cannot see): up is refused as locked and nothing changes.
func TestEngineLockFromAnotherMachineIsRefused(t *testing.T) {
	f := newTinyFixture(t)
	f.mustUp("staging")
	lockDir := filepath.Join(f.home, "state", ".pulumi", "locks", "organization", "plinth", "staging")
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(lockDir, "0b9a2a8e-other-host.json")
	content := `{"pid":4242,"username":"ci","hostname":"runner-7","timestamp":"2026-11-23T01:00:00Z"}`
	if err := os.WriteFile(lock, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	before := f.resources("staging")
	_, err := f.up("staging", provision.UpOptions{})
	if !errors.Is(err, provision.ErrLocked) || !strings.Contains(err.Error(), "runner-7") {
		t.Fatalf("up under another host's lock: got %v", err)
	}
	assertDesired(t, before, f.resources("staging"))
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	f.mustUp("staging")
}
