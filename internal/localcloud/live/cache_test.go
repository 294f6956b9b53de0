package live

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testAuthToken = "cache-auth-token-0123456789"

// TestLiveCache runs a cache primary and a replica for real and checks, from the app host: a TLS client
// with the token writes to the primary and reads the value back from the replica; a plain-text client, a
// token-less one and a wrong token are refused; the replica refuses writes; nothing is left.
func TestLiveCache(t *testing.T) {
	caches := []Cache{
		{Name: "cache", Host: "cache-1", AuthToken: testAuthToken},
		{Name: "cache-replica", Host: "cache-2", Source: "cache", AuthToken: testAuthToken},
	}
	p, dt := newDataPlatform(t, "tc1", dataState(), nil, caches)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dt.ApplyCaches(ctx, caches); err != nil {
		t.Fatalf("apply caches: %v", err)
	}
	app := p.NetnsName("app-1")
	primary, replica := "10.70.16.30:6379", "10.70.17.30:6379"
	cmds := func(addr string, tlsOn bool, c ...string) ([]string, error) {
		cfg := testTLS(t, p, strings.Split(addr, ":")[0])
		if !tlsOn {
			cfg = nil
		}
		return RedisCommands(ctx, app, addr, cfg, c...)
	}
	got, err := cmds(primary, true, "AUTH "+testAuthToken, "SET greeting hello-over-tls", "GET greeting")
	if err != nil || strings.Join(got, ",") != "+OK,+OK,hello-over-tls" {
		t.Fatalf("primary round trip: %q %v", got, err)
	}
	err = waitFor(30*time.Second, func() (bool, error) {
		got, err = cmds(replica, true, "AUTH "+testAuthToken, "GET greeting")
		return err == nil && len(got) == 2 && got[1] == "hello-over-tls", nil
	})
	if err != nil {
		t.Errorf("replica: the primary's key did not arrive: %v (%q)", err, got)
	}
	if got, err := cmds(replica, true, "AUTH "+testAuthToken, "SET greeting x"); err != nil || !strings.HasPrefix(got[1], "-READONLY") {
		t.Errorf("a write to the replica: %q %v, want -READONLY", got, err)
	}
	if got, err := cmds(primary, true, "PING"); err != nil || !strings.HasPrefix(got[0], "-NOAUTH") {
		t.Errorf("a token-less client: %q %v, want -NOAUTH", got, err)
	}
	if got, err := cmds(primary, true, "AUTH not-the-token", "GET greeting"); err != nil || !strings.HasPrefix(got[0], "-WRONGPASS") || !strings.HasPrefix(got[1], "-NOAUTH") {
		t.Errorf("a wrong token: %q %v, want -WRONGPASS then -NOAUTH", got, err)
	}
	if got, err := cmds(primary, false, "AUTH "+testAuthToken, "PING"); err == nil {
		t.Errorf("a plain-text client got answers: %q", got)
	} else {
		t.Logf("plain-text client refused: %v", err)
	}
	// The platform re-creates the replica's host (a changed host is replaced): ApplyCaches starts the node
	// again in the new host, and it replicates again.
	s2 := dataState()
	s2.Hosts[6].Tier = "cache-b"
	if err := p.Apply(ctx, WithReplication(s2, nil, caches)); err != nil {
		t.Fatal(err)
	}
	if err := dt.ApplyCaches(ctx, caches); err != nil {
		t.Fatalf("apply caches after the host was replaced: %v", err)
	}
	err = waitFor(30*time.Second, func() (bool, error) {
		got, err = cmds(replica, true, "AUTH "+testAuthToken, "GET greeting")
		return err == nil && len(got) == 2 && got[1] == "hello-over-tls", nil
	})
	if err != nil {
		t.Errorf("replaced replica: %v (%q)", err, got)
	}
	var pids []int
	for _, st := range dt.Caches() {
		t.Logf("%s %s %s rss=%.1f MiB", st.Name, st.Role, st.Address, float64(st.RSSBytes)/(1<<20))
		if !st.Running {
			t.Errorf("cache %s is not running", st.Name)
		}
	}
	for _, pr := range p.Status().Processes {
		if strings.HasSuffix(pr.Name, "/redis-server") && pr.Running {
			pids = append(pids, pr.Pid)
		}
	}
	if len(pids) != 2 {
		t.Errorf("%d redis-server processes, want 2", len(pids))
	}
	if err := dt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
				t.Errorf("redis-server pid %d still runs", pid)
			}
		}
	}
}

func TestRedisConfGolden(t *testing.T) {
	c := Cache{Name: "cache-replica", Host: "cache-2", Source: "cache", AuthToken: testAuthToken}
	golden(t, "redis-replica.conf", RenderRedisConf(c, dataState().Hosts[6].Address, dataState().Hosts[5].Address,
		"/run/plinth/redis/data", "/run/plinth/redis/server.pem", "/run/plinth/ca.pem"))
	err := ValidateCaches(dataState(), []Cache{{Name: "c", Host: "nope", AuthToken: "short", Source: "x"}})
	for _, want := range []string{`cache c: host "nope"`, "cache c: auth token", `cache c: source "x"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
