package deploysim_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploysim"
	"github.com/plinth-dev/plinth/internal/inventory"
)

const mib = 1 << 20

// small is a model whose times can be added up by hand: 10 ms to every host, nothing else costs time
// but the bytes.
func small() deploysim.Model {
	return deploysim.Model{
		RTT:    func(inventory.Host) time.Duration { return 10 * time.Millisecond },
		Uplink: 10 * mib, Bastion: 5 * mib, HostBW: 20 * mib,
	}
}

// TestModelArithmetic checks the simulated times of a 4-host, 2-AZ deploy against the model worked out by
// hand (fake clock: exact, whatever the machine's load).
func TestModelArithmetic(t *testing.T) {
	f := deploysim.Fleet{Hosts: 4, AZs: 2, Artifact: 10 * mib}
	// Batches of one host per AZ: 2 batches of 2, each: the tier check (10 ms), switch + restart (10 ms),
	// the health check (10 ms).
	const batches = 2 * 30 * time.Millisecond
	cases := []struct {
		staging            deploy.Staging
		staged             time.Duration
		push, store, fetch int64
	}{
		// Push: the probe (10 ms), 4 x 10 MiB through the bastion's 5 MiB/s shared (8 s), the stage command.
		{deploy.StagingPush, 10*time.Millisecond + 8*time.Second + 10*time.Millisecond, 40 * mib, 0, 0},
		// Pull: one 10 MiB upload at the 10 MiB/s uplink (1 s); each host at once: the fetch command's
		// round trip (10 ms), 10 MiB at its own 20 MiB/s (0.5 s) and half a round trip back, then stage.
		{deploy.StagingPull, time.Second + 10*time.Millisecond + 500*time.Millisecond + 5*time.Millisecond + 10*time.Millisecond, 0, 10 * mib, 40 * mib},
	}
	for _, c := range cases {
		t.Run(string(c.staging), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := f
				f.Staging = c.staging
				r, err := deploysim.Deploy(context.Background(), f, small())
				if err != nil {
					t.Fatal(err)
				}
				if r.Staged != c.staged {
					t.Errorf("staged after %v, want %v", r.Staged, c.staged)
				}
				if r.Elapsed != c.staged+batches {
					t.Errorf("deploy took %v, want %v", r.Elapsed, c.staged+batches)
				}
				if r.Batches != 2 || len(r.Outcome.Switched) != 4 {
					t.Errorf("batches %d, switched %v", r.Batches, r.Outcome.Switched)
				}
				if r.PushBytes != c.push || r.StoreIn != c.store || r.Fetched != c.fetch {
					t.Errorf("bytes: push %d store %d fetched %d, want %d %d %d", r.PushBytes, r.StoreIn, r.Fetched, c.push, c.store, c.fetch)
				}
				// The tier check before batch 1 asks all 4 hosts; the one before batch 2 asks only its own 2:
				// the other 2 passed their health step 20 ms earlier, within the freshness window of 4 hosts
				// at deploy.DefaultHealthRate (40 ms). Then one health check per switched host.
				if r.Checks != 4+2+4 {
					t.Errorf("health requests %d, want 10", r.Checks)
				}
			})
		})
	}
}

// TestTierChecksGrowLinearly: asking every host before every batch costs hosts x batches health requests
// (quadratic); trusting a pass for hosts / HealthRate costs at most the rate x the rollout's time (linear).
// The simulation counts the requests at 150 and 300 hosts, both ways.
func TestTierChecksGrowLinearly(t *testing.T) {
	checks := func(hosts int, rate float64) int {
		var n int
		synctest.Test(t, func(t *testing.T) {
			f := deploysim.Fleet{Hosts: hosts, AZs: 3, Artifact: mib, Staging: deploy.StagingPush, HealthRate: rate}
			r, err := deploysim.Deploy(context.Background(), f, small())
			if err != nil {
				t.Fatal(err)
			}
			n = r.Checks
		})
		return n
	}
	every150, every300 := checks(150, -1), checks(300, -1)
	// Every host before each of hosts/3 batches, plus one health step per host.
	if every150 != 150*50+150 || every300 != 300*100+300 {
		t.Fatalf("asking every host: %d and %d requests, want %d and %d", every150, every300, 150*50+150, 300*100+300)
	}
	fresh150, fresh300 := checks(150, 0), checks(300, 0)
	t.Logf("health requests, 150 -> 300 hosts: every host before every batch %d -> %d; fresh window %d -> %d",
		every150, every300, fresh150, fresh300)
	if ratio := float64(fresh300) / float64(fresh150); ratio > 2.3 {
		t.Errorf("fresh window: %d -> %d requests (x%.2f): not linear", fresh150, fresh300, ratio)
	}
	if fresh300 > every300/5 {
		t.Errorf("fresh window at 300 hosts: %d requests, against %d asking every host", fresh300, every300)
	}
}

func TestChooseStaging(t *testing.T) {
	for _, c := range []struct {
		mode  string
		hosts int
		store bool
		want  deploy.Staging
		err   bool
	}{
		{"", deploy.PullFromHosts - 1, true, deploy.StagingPush, false},
		{"auto", deploy.PullFromHosts, true, deploy.StagingPull, false},
		{"", 1000, false, deploy.StagingPush, false},
		{"push", 1000, true, deploy.StagingPush, false},
		{"pull", 2, true, deploy.StagingPull, false},
		{"pull", 2, false, "", true},
		{"rsync", 2, true, "", true},
	} {
		got, err := deploy.ChooseStaging(c.mode, c.hosts, c.store)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("ChooseStaging(%q, %d, %v) = %q, %v", c.mode, c.hosts, c.store, got, err)
		}
	}
}
