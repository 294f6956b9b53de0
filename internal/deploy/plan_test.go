package deploy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testInventory(t *testing.T, n int) *inventory.Inventory {
	t.Helper()
	tier := &inventory.Tier{Port: 8080}
	for i := 0; i < n; i++ {
		tier.Hosts = append(tier.Hosts, inventory.Host{Address: "10.0.1." + string(rune('1'+i))})
	}
	inv := &inventory.Inventory{Stack: "production", Bastion: &inventory.Bastion{Host: inventory.Host{Address: "203.0.113.10"}},
		Tiers: map[string]*inventory.Tier{"app": tier}}
	if err := inv.Normalize(); err != nil {
		t.Fatal(err)
	}
	return inv
}

func testRelease() deploy.Release {
	return deploy.Release{Version: "2026.11.23-1", Artifact: "dist/app", SHA256: strings.Repeat("ab", 32), Size: 52428800,
		CreatedAt: time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)}
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s", name, got)
	}
}

// render shows a plan as the commands a human would read: one line per step, argv shell-quoted.
func render(p *deploy.Plan) []byte {
	var b bytes.Buffer
	line := func(phase, host string, s deploy.Step) {
		b.WriteString(phase + " " + host + " " + string(s.Kind))
		switch {
		case s.Upload != nil:
			b.WriteString(" " + s.Upload.Local + " -> " + s.Upload.Remote)
		case s.Health != nil:
			j, _ := json.Marshal(s.Health)
			b.WriteString(" " + string(j))
		case s.Argv != nil:
			// Scripts are shown by name: their text is tested by the sshd tests.
			if len(s.Argv) > 3 && s.Argv[0] == "sh" && s.Argv[1] == "-c" {
				b.WriteString(" sh -c <" + s.Argv[3] + "> " + sshx.ShellJoin(s.Argv[4:]))
			} else {
				b.WriteString(" " + sshx.ShellJoin(s.Argv))
			}
		}
		if s.Keep > 0 {
			b.WriteString(" keep=" + string(rune('0'+s.Keep)))
		}
		b.WriteByte('\n')
	}
	b.WriteString("plan " + p.Stack + "/" + p.Tier + " " + p.Version + "\n")
	for _, hs := range p.Stage {
		for _, s := range hs.Steps {
			line("stage", hs.Host, s)
		}
	}
	for i, batch := range p.Batches {
		for _, hs := range batch {
			for _, s := range hs.Steps {
				line("batch"+string(rune('1'+i)), hs.Host, s)
			}
		}
	}
	for _, hs := range p.Finish {
		for _, s := range hs.Steps {
			line("finish", hs.Host, s)
		}
	}
	return b.Bytes()
}

func TestPlanGoldenSystemdDefaults(t *testing.T) {
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: testInventory(t, 3), Tier: "app", Release: testRelease(),
		Config: (*deploy.Config)(nil).Tier("app"), Drain: true})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-systemd.golden", render(p))
}

func TestPlanGoldenHooksAndBatches(t *testing.T) {
	cfg, err := deploy.ParseConfig([]byte(`
tiers:
  worker:
    binary: jobrunner
    restart: [sudo, -n, systemctl, restart, "jobs@{version}.service"]
    batch: 50%
    minHealthy: 2
    keep: 3
    pre: [[/srv/hooks/pre-switch, "{host}", "{version}"]]
    post: [[logger, -t, plinth, "{tier} {version} on {host}"]]
    health: {path: /ready, timeout: 3s, retries: 10, interval: 500ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	inv := testInventory(t, 4)
	inv.Tiers["worker"] = inv.Tiers["app"]
	delete(inv.Tiers, "app")
	p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "worker", Release: testRelease(), Config: cfg.Tier("worker")})
	if err != nil {
		t.Fatal(err)
	}
	if p.BatchSize != 2 || len(p.Batches) != 2 {
		t.Fatalf("batch %d x %d", p.BatchSize, len(p.Batches))
	}
	golden(t, "plan-hooks.golden", render(p))
}

func TestPlanScriptsGolden(t *testing.T) {
	// The exact argv of every host-side script, so a change to them shows in review.
	var b bytes.Buffer
	rel := testRelease()
	for _, argv := range [][]string{
		deploy.CurrentArgv("/srv/plinth/app"),
		deploy.StageArgv("/srv/plinth/app", rel.Version, rel.SHA256, "app", rel.CreatedAt),
		deploy.SwitchArgv("/srv/plinth/app", rel.Version, "sudo", "-n", "systemctl", "restart", "plinth-app.service"),
		deploy.ListArgv("/srv/plinth/app"),
		deploy.RemoveArgv("/srv/plinth/app", []string{"v1", "v2"}),
	} {
		b.WriteString(sshx.ShellJoin(argv) + "\n\n")
	}
	golden(t, "scripts.golden", b.Bytes())
}

func TestPlanRejectsBadInput(t *testing.T) {
	inv := testInventory(t, 2)
	good := testRelease()
	cfg := (*deploy.Config)(nil).Tier("app")
	cases := map[string]deploy.PlanInput{
		"no inventory":  {Tier: "app", Release: good, Config: cfg},
		"unknown tier":  {Inventory: inv, Tier: "search", Release: good, Config: cfg},
		"bad version":   {Inventory: inv, Tier: "app", Release: func() deploy.Release { r := good; r.Version = "../x"; return r }(), Config: cfg},
		"shell version": {Inventory: inv, Tier: "app", Release: func() deploy.Release { r := good; r.Version = "v1;rm -rf /"; return r }(), Config: cfg},
		"bad sha":       {Inventory: inv, Tier: "app", Release: func() deploy.Release { r := good; r.SHA256 = "xyz"; return r }(), Config: cfg},
	}
	for name, in := range cases {
		if _, err := deploy.NewPlan(in); err == nil {
			t.Errorf("%s: planned", name)
		}
	}
}

func TestBatchSize(t *testing.T) {
	cases := []struct {
		batch             string
		hosts, minHealthy int
		wantSize, wantMin int
		wantErr           bool
	}{
		{"1", 3, 0, 1, 2, false},
		{"2", 3, 0, 1, 2, false},   // N+1: capped to 1
		{"50%", 4, 2, 2, 2, false}, // 2 of 4, 2 stay
		{"50%", 4, 0, 1, 3, false}, // default N = hosts-1
		{"25%", 12, 9, 3, 9, false},
		{"100%", 12, 6, 6, 6, false},
		{"1", 1, 0, 1, 0, false}, // a single host has no N+1
		{"3", 3, 3, 0, 0, true},  // nobody could ever be taken out
		{"0", 3, 0, 0, 0, true},
		{"150%", 3, 0, 0, 0, true},
		{"x", 3, 0, 0, 0, true},
	}
	for _, c := range cases {
		size, mh, err := deploy.BatchSize(c.batch, c.hosts, c.minHealthy)
		if (err != nil) != c.wantErr || (!c.wantErr && (size != c.wantSize || mh != c.wantMin)) {
			t.Errorf("BatchSize(%q, %d, %d) = %d, %d, %v; want %d, %d, err %v", c.batch, c.hosts, c.minHealthy, size, mh, err, c.wantSize, c.wantMin, c.wantErr)
		}
	}
}

func TestConfigRejectsUnknownFieldsAndBadValues(t *testing.T) {
	for _, doc := range []string{
		"tiers: {app: {restrat: [x]}}",
		"tiers: {app: {batch: 0%}}",
		"tiers: {app: {binary: ../x}}",
		"tiers: {app: {pre: [[]]}}",
		"stepTimeout: -5s",
		"keepalive: -1s",
		"stepTimeout: soon",
		"staging: rsync",
		"store: {prefix: plinth/}",
		"store: {bucket: b, acl: public}",
	} {
		if _, err := deploy.ParseConfig([]byte(doc)); err == nil {
			t.Errorf("accepted %q", doc)
		}
	}
}

func TestConfigStagingAndStore(t *testing.T) {
	c, err := deploy.ParseConfig([]byte("staging: pull\nstore: {bucket: artifacts, prefix: plinth/, region: eu-west-1}\n"))
	if err != nil || c.Staging != "pull" || c.Store == nil || c.Store.Bucket != "artifacts" || c.Store.Prefix != "plinth/" {
		t.Fatalf("%+v %v", c, err)
	}
}

// TestStoreFor: deploy.yaml's store wins; else the stack's release escrow (keys at the bucket's root, under
// the artifacts/ prefix its instance roles may read); else none.
func TestStoreFor(t *testing.T) {
	inv := &inventory.Inventory{ReleaseEscrow: &inventory.ReleaseEscrow{Bucket: "prod-escrow", Region: "eu-west-1"}}
	if got := (&deploy.Config{}).StoreFor(inv); got == nil || *got != (deploy.StoreConfig{Bucket: "prod-escrow", Region: "eu-west-1"}) {
		t.Errorf("from the escrow: %+v", got)
	}
	own := &deploy.StoreConfig{Bucket: "mine", Prefix: "plinth/"}
	if got := (&deploy.Config{Store: own}).StoreFor(inv); got != own {
		t.Errorf("deploy.yaml's store: %+v", got)
	}
	if got := (&deploy.Config{}).StoreFor(&inventory.Inventory{}); got != nil {
		t.Errorf("no store anywhere: %+v", got)
	}
	if got := (*deploy.Config)(nil).StoreFor(nil); got != nil {
		t.Errorf("nil config and inventory: %+v", got)
	}
}

func TestConfigTimeouts(t *testing.T) {
	c, err := deploy.ParseConfig([]byte("stepTimeout: 5s\nkeepalive: 2s\n"))
	if err != nil || c.StepTimeout != 5*time.Second || c.KeepAlive != 2*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
}
