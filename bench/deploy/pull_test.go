package deploybench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/deploy/s3store"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// BenchmarkPullStaging deploys to BENCH_PULL_HOSTS (48) real sshd hosts on loopback, once with push staging
// and once with pull staging from an S3 emulator (gofakes3 in process), and prints how many copies of the
// artifact left plinth each way: through SSH uploads, and into the store. `make bench-deploy-pull`.
func BenchmarkPullStaging(b *testing.B) {
	n := 48
	if v := os.Getenv("BENCH_PULL_HOSTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			b.Fatalf("BENCH_PULL_HOSTS=%q: want a host count >= 2", v)
		}
	}
	dir := b.TempDir()
	keys := sshdtest.NewKeys(b, dir)
	known := filepath.Join(dir, "known_hosts")
	bastion := sshdtest.Start(b, "bastion", sshdtest.Options{Authorized: keys.Authorized})
	servers := []*sshdtest.Server{bastion}
	tier := &inventory.Tier{Name: "app"}
	for i := 1; i <= n; i++ {
		s := sshdtest.Start(b, "app-"+strconv.Itoa(i), sshdtest.Options{Authorized: keys.Authorized})
		servers = append(servers, s)
		tier.Hosts = append(tier.Hosts, inventory.Host{Name: s.Name, Address: s.Addr, User: "root", Root: s.Root, Port: sshdtest.ServicePort(b)})
		root := s.Root
		b.Cleanup(func() { deploytest.StopApp(root) })
	}
	sshdtest.WriteKnownHosts(b, known, servers...)
	inv := &inventory.Inventory{Stack: "bench", User: "root", Tiers: map[string]*inventory.Tier{"app": tier},
		Bastion: &inventory.Bastion{Host: inventory.Host{Name: "bastion", Address: bastion.Addr, User: "root"},
			Direct: true, StateDir: filepath.Join(bastion.Dir, "state")}}
	if err := inv.Normalize(); err != nil {
		b.Fatal(err)
	}
	cfg := deploytest.TierConfig()
	cfg.Health.Interval, cfg.Health.Retries = 20*time.Millisecond, 500
	em := deploytest.StartStore(b)
	b.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	store, err := s3store.Open(context.Background(), deploy.StoreConfig{Bucket: deploytest.StoreBucket, Region: "eu-west-1", Endpoint: em.URL, PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	r, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{keys.PrivatePath}, Compress: "none"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	deployWith := func(version string, staging deploy.Staging) (*deploy.Outcome, time.Duration) {
		rel := deploytest.Release(b, deploytest.BuildApp(b, version, true, 8<<20), version)
		p, err := deploy.NewPlan(deploy.PlanInput{Inventory: inv, Tier: "app", Release: rel, Config: cfg, Staging: staging})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s := &deploy.Session{State: deploy.State{Runner: r, Host: inv.Bastion.Host, Dir: inv.Bastion.StateDir},
			Exec: &deploy.Executor{Runner: r, Store: store}, Holder: "bench", Action: "deploy"}
		outs, err := s.Run(context.Background(), []*deploy.Plan{p})
		if err != nil {
			b.Fatalf("%s staging to %d hosts: %v", staging, n, withServiceLog(err))
		}
		return outs[0], time.Since(start)
	}
	b.ResetTimer()
	push, pushT := deployWith("v1", deploy.StagingPush)
	pull, pullT := deployWith("v2", deploy.StagingPull)
	b.StopTimer()
	size := float64(pull.StoreBytes)
	if size == 0 {
		b.Fatal("pull staging sent nothing to the store")
	}
	fmt.Printf("hosts=%d artifact=%.1fMiB push: %.2fs ssh_upload=%.1fMiB (%.2f copies) | pull: %.2fs ssh_upload=%dB store_in=%.1fMiB store_out=%.1fMiB copies_from_operator=%.2f load=%s\n",
		n, size/(1<<20), pushT.Seconds(), float64(push.BytesSent)/(1<<20), float64(push.BytesSent)/size,
		pullT.Seconds(), pull.BytesSent, float64(em.In.Load())/(1<<20), float64(em.Out.Load())/(1<<20),
		float64(em.In.Load()+pull.BytesSent)/size, loadavg())
	if pull.BytesSent != 0 || em.In.Load() > int64(size*1.01) {
		b.Fatalf("pull staging: %d bytes through SSH, %d into the store: want one copy", pull.BytesSent, em.In.Load())
	}
}
