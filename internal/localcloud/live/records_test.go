package live

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/firewall"
	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/proctree"
	"github.com/plinth-dev/plinth/stacks"
)

// stackResources evaluates a stack's real program offline.
func stackResources(t *testing.T, stack string) []*offline.Resource {
	t.Helper()
	data, err := environments.EmbeddedStackFile(stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := environments.ParseStackFile(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := offline.Evaluate(environments.Project, stack, cfg.Values, cfg.Secret, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	return res.Resources
}

// stackRecords evaluates a stack's real program offline and hands its resources over as a hook would.
func stackRecords(t *testing.T, stack string) []Record {
	t.Helper()
	var recs []Record
	for _, r := range stackResources(t, stack) {
		if r.Custom {
			recs = append(recs, Record{Type: r.Type, Name: r.Name, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
		}
	}
	return recs
}

// TestStateFromStagingRecords derives the live platform from the staging program's own resources: the
// hosts its auto scaling groups ask for, the groups with the rules the firewall component created, the
// load balancer in front of the app tier.
func TestStateFromStagingRecords(t *testing.T) {
	s, err := StateFromRecords(stackRecords(t, environments.Staging), "ssh-ed25519 AAAA test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("derived state: %v", err)
	}
	tiers := map[string]int{}
	for _, h := range s.Hosts {
		tiers[h.Tier]++
		if h.Tier == "app" && (h.Service == nil || h.Service.Port == 0) {
			t.Errorf("app host %s has no service port", h.Name)
		}
		if h.Public != (h.Tier == "bastion") {
			t.Errorf("host %s (%s): public %v", h.Name, h.Tier, h.Public)
		}
	}
	// staging: app, worker, sftp 1 each (README), one bastion.
	for tier, want := range map[string]int{"app": 1, "worker": 1, "sftp": 1, "bastion": 1} {
		if tiers[tier] != want {
			t.Errorf("%d %s hosts, want %d (all: %v)", tiers[tier], tier, want, tiers)
		}
	}
	if s.SSHUser == "" || len(s.AdminCIDRs) == 0 || s.LB == nil || len(s.LB.Target.Targets) != tiers["app"] {
		t.Fatalf("user %q admin %v lb %+v", s.SSHUser, s.AdminCIDRs, s.LB)
	}
	var rules int
	for _, g := range s.Groups {
		rules += len(g.Ingress) + len(g.Egress)
	}
	if len(s.Groups) < 8 || rules < 20 {
		t.Errorf("%d groups with %d rules", len(s.Groups), rules)
	}
	// The app host's ruleset admits the load balancer on the app port and nothing from the internet.
	var app Host
	for _, h := range s.Hosts {
		if h.Tier == "app" {
			app = h
		}
	}
	rs := RenderRuleset(app.Name, groupsOf(s.Groups, app.Groups), members(s))
	if !strings.Contains(rs, "ip saddr { "+s.LB.Address.String()+" } tcp dport "+itoa(s.LB.Target.Port)+" accept") ||
		strings.Contains(rs, "saddr 0.0.0.0/0") {
		t.Errorf("app ruleset:\n%s", rs)
	}
}

func TestStateFromRecordsNamesBadResources(t *testing.T) {
	recs := []Record{
		{Type: typeVPC, Name: "v", ID: "vpc-1", Inputs: map[string]any{"cidrBlock": "nope"}},
		{Type: typeIngress, Name: "r", Inputs: map[string]any{"securityGroupId": "sg-missing"}},
		{Type: typeASG, Name: "asg", Inputs: map[string]any{"launchTemplate": map[string]any{"id": "lt-x"}}},
	}
	_, err := StateFromRecords(recs, "", nil)
	for _, want := range []string{"aws:ec2/vpc:Vpc v: cidrBlock", `r: securityGroupId "sg-missing"`, `asg: launchTemplate.id "lt-x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %q", err, want)
		}
	}
}
func itoa(n int) string { return strconv.Itoa(n) }

// TestLiveStaging brings the staging program's own resources up live: its hosts answer SSH through the
// published bastion, the firewall the engine's rules describe holds, and a deploy with the default config
// makes the published HTTPS address answer with the deployed version.
func TestLiveStaging(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	// The operator key plinth generates for the local cloud; its public half is what every host accepts.
	op, err := LoadOrCreateOperatorKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := StateFromRecords(stackRecords(t, environments.Staging), op.Authorized, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	p := startPlatform(t, "stg", s)
	up := time.Since(began)
	st := p.Status()
	t.Logf("staging live in %s: %d hosts, resident memory of its processes %d MiB", up.Round(time.Millisecond),
		len(st.Hosts), residentKiB(st.Processes)/1024)
	for _, h := range st.Hosts {
		if h.State != "running" {
			t.Errorf("host %s is %s", h.Name, h.State)
		}
	}
	if err := attempt(p, s, flow{firewall.Internet, firewall.App, s.LB.Target.Port}, 2*time.Second); err == nil {
		t.Errorf("the internet reached the app port %d", s.LB.Target.Port)
	}
	if err := attempt(p, s, flow{firewall.Admin, firewall.Bastion, 22}, 10*time.Second); err != nil {
		t.Errorf("admins cannot reach the bastion: %v", err)
	}
	testDeploy(t, p, s, op.PrivatePath)
}

// TestStateFromEveryStack derives and validates every stack's platform (production has the DR VPC).
func TestStateFromEveryStack(t *testing.T) {
	for _, stack := range []string{environments.Staging, environments.Preproduction, environments.Production} {
		s, err := StateFromRecords(stackRecords(t, stack), "ssh-ed25519 AAAA test", nil)
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", stack, err)
		}
		counts := map[string]int{}
		for _, h := range s.Hosts {
			counts[h.Tier]++
		}
		wantVPCs := 1
		if stack == environments.Production {
			wantVPCs = 2 // and the DR region's
		}
		if len(s.VPCs) != wantVPCs || counts["bastion"] != 1 || counts["app"] < 1 || counts["worker"] < 1 || counts["sftp"] < 1 ||
			s.LB == nil || len(s.LB.Target.Targets) != counts["app"] {
			t.Errorf("%s: %d VPCs, hosts %v, lb %+v", stack, len(s.VPCs), counts, s.LB)
		}
		t.Logf("%s: %d VPCs, %d groups, hosts %v", stack, len(s.VPCs), len(s.Groups), counts)
	}
}

// residentKiB sums VmRSS of the processes and everything below them (figures for the report, not asserted).
func residentKiB(procs []ProcessInfo) int {
	total := 0
	for _, pr := range procs {
		if !pr.Running {
			continue
		}
		for _, pid := range append([]int{pr.Pid}, proctree.Descendants(pr.Pid)...) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
					n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
					total += n
				}
			}
		}
	}
	return total
}
