package live

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/localcloud"
)

// TestHookFollowsTheEngine replays what the provider tells its hooks while `up` and then `destroy` run the
// staging program: every resource created in the program's order, then deleted in reverse. After the creates
// the platform runs (its hosts, HAProxy, the published ports); after the deletes nothing is left.
func TestHookFollowsTheEngine(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	op, err := LoadOrCreateOperatorKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := startPlatform(t, "hk", State{})
	hook := &Hook{Platform: func(string) (*Platform, error) { return p, nil }, AuthorizedKeys: op.Authorized,
		Seed: func(string) ([]localcloud.Resource, error) { return nil, nil }}
	var _ localcloud.Hook = hook
	changes := stagingChanges(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var dbEndpoint, cacheEndpoint string
	for _, c := range changes {
		out, err := hook.Apply(ctx, c)
		if err != nil {
			t.Fatalf("create %s: %v", c.URN, err)
		}
		if out == nil {
			t.Fatalf("create %s: no outputs returned", c.URN)
		}
		switch c.Type {
		case typeRDS:
			dbEndpoint, _ = out["endpoint"].(string)
		case typeCacheGroup:
			cacheEndpoint, _ = out["primaryEndpointAddress"].(string)
		}
	}
	st := p.Status()
	// The four instances and the data tier's two managed nodes (the database and the cache).
	if len(st.Hosts) != 6 || st.URL == "" || st.Bastion == "" {
		t.Fatalf("after up: %+v", st)
	}
	testHookDataTier(t, p, hook, st, dbEndpoint, cacheEndpoint)
	for _, h := range st.Hosts {
		if h.State != "running" {
			t.Errorf("host %s is %s", h.Name, h.State)
		}
	}
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		c.Op = localcloud.OpDelete
		if _, err := hook.Apply(ctx, c); err != nil {
			t.Fatalf("delete %s: %v", c.URN, err)
		}
	}
	st = p.Status()
	if len(st.Hosts) != 0 || len(st.Published) != 0 {
		t.Errorf("after destroy: %+v", st)
	}
	for _, pr := range st.Processes {
		if pr.Running {
			t.Errorf("after destroy %s (pid %d) runs", pr.Name, pr.Pid)
		}
	}
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix+"hk-") {
			t.Errorf("after destroy namespace %s is left", e.Name())
		}
	}
}

// stagingChanges are the creates the provider would hand its hooks while `up` runs the staging program.
func stagingChanges(t *testing.T) []localcloud.Change {
	t.Helper()
	return stackChanges(t, environments.Staging)
}
