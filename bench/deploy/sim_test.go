package deploybench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploysim"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// fleetModel is the model of docs/deploy.md ("Scale, simulated"): an operator on a 100 Mbit/s uplink, a
// bastion with 500 Mbit/s, hosts that download at 500 Mbit/s each from a regional store, ~30 ms from the
// operator (per AZ), 15 ms per command, a 1 s service restart, sha256 at 500 MB/s.
func fleetModel() deploysim.Model {
	azRTT := map[string]time.Duration{"a": 30 * time.Millisecond, "b": 30500 * time.Microsecond, "c": 31200 * time.Microsecond}
	return deploysim.Model{
		RTT:        func(h inventory.Host) time.Duration { return azRTT[deploysim.AZ(h)] },
		BastionRTT: 30 * time.Millisecond,
		Uplink:     100e6 / 8, Bastion: 500e6 / 8, HostBW: 500e6 / 8,
		Exec: 15 * time.Millisecond, Restart: time.Second, Hash: 500e6,
	}
}

// TestDeploySimulation runs the real planner, executor and session over simulated fleets in 3 AZs with
// one-host-per-AZ batches, push and pull staging, and prints simulated deploy time and plinth's memory.
// BENCH_SIM_HOSTS (default "12,48"; `make bench-deploy-sim`: 12,48,200,1000) picks the fleet sizes.
func TestDeploySimulation(t *testing.T) {
	sizes := []int{12, 48}
	if env := os.Getenv("BENCH_SIM_HOSTS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 3 {
				t.Fatalf("BENCH_SIM_HOSTS %q: want host counts >= 3", env)
			}
			sizes = append(sizes, n)
		}
	}
	// BENCH_SIM_HEALTH_RATE sets the executor's HealthRate (default deploy.DefaultHealthRate; -1 asks every
	// host before every batch, the quadratic check, for comparison).
	rate := 0.0
	if env := os.Getenv("BENCH_SIM_HEALTH_RATE"); env != "" {
		var err error
		if rate, err = strconv.ParseFloat(env, 64); err != nil {
			t.Fatalf("BENCH_SIM_HEALTH_RATE %q: %v", env, err)
		}
	}
	const artifact = 50 << 20
	t.Logf("model: artifact 50 MiB, uplink 100 Mbit/s, bastion 500 Mbit/s, host download 500 Mbit/s, RTT 30-31.2 ms by AZ, command 15 ms, restart 1 s, sha256 500 MB/s")
	fmt.Println("| hosts | staging | deploy time | staging phase | batches | health requests | sent from the operator | peak heap | peak RSS | CPU time of the simulation |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		for _, st := range []deploy.Staging{deploy.StagingPush, deploy.StagingPull} {
			f := deploysim.Fleet{Hosts: n, AZs: 3, Artifact: artifact, Staging: st, HealthRate: rate}
			var r deploysim.Report
			runtime.GC()
			stop := sampleMemory()
			wall := time.Now()
			synctest.Test(t, func(t *testing.T) {
				var err error
				if r, err = deploysim.Deploy(context.Background(), f, fleetModel()); err != nil {
					t.Fatalf("%d hosts, %s: %v", n, st, err)
				}
			})
			heap, rss := stop()
			if got := len(r.Outcome.Switched); got != n {
				t.Fatalf("%d hosts, %s: %d switched", n, st, got)
			}
			sent := r.PushBytes + r.StoreIn
			if st == deploy.StagingPull && sent != artifact {
				t.Errorf("%d hosts, pull: %d bytes left the operator, want one copy (%d)", n, sent, artifact)
			}
			fmt.Printf("| %d | %s | %s | %s | %d | %d | %d MiB | %.1f MiB | %.1f MiB | %.2f s |\n", n, st, minSec(r.Elapsed), minSec(r.Staged),
				r.Batches, r.Checks, sent>>20, float64(heap)/(1<<20), float64(rss)/(1<<20), time.Since(wall).Seconds())
		}
	}
}

func minSec(d time.Duration) string {
	if d >= 100*time.Second {
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// sampleMemory samples the heap in use and the resident set every 2 ms (real time) until the returned
// func is called, which returns their peaks.
func sampleMemory() func() (heap, rss uint64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var heap, rss uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		rss = max(rss, vmRSS())
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) { close(done); wg.Wait(); sample(); return heap, rss }
}

// vmRSS is this process's resident set (Linux), 0 when unknown.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
