package live

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServerOutlivesItsClients runs the live cloud's server on a unix socket; a client hands it the engine's
// changes (as `plinth up` would through its hook), then reads the status (`plinth local status -o json`) and
// stops it (`plinth local stop`): every process and namespace goes.
func TestServerOutlivesItsClients(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	dir, err := os.MkdirTemp("/run", "plinth-live-server-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	op, err := LoadOrCreateOperatorKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{AuthorizedKeys: op.Authorized, OperatorKey: op.PrivatePath, NewPlatform: func(stack string) (*Platform, error) {
		return New(Options{ID: "sv", Dir: filepath.Join(dir, stack)})
	}}
	sock := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { _ = srv.closeAll() })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := NewClient(sock)
	for _, ch := range stagingChanges(t) {
		if _, err := c.Apply(ctx, ch); err != nil {
			t.Fatalf("%s: %v", ch.URN, err)
		}
	}
	rep, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The four instances and the data tier's two managed nodes.
	if len(rep.Stacks) != 1 || rep.Stacks[0].Stack != "staging" || len(rep.Stacks[0].Hosts) != 6 || rep.Stacks[0].URL == "" {
		t.Fatalf("status %+v", rep)
	}
	b, _ := json.Marshal(rep)
	for _, key := range []string{`"stacks":[`, `"stack":"staging"`, `"url":"https://127.0.0.1:`, `"caFile":`, `"bastion":"127.0.0.1:`,
		`"hosts":[`, `"name":"app-1"`, `"tier":"app"`, `"address":"10.`, `"state":"running"`,
		`"sshUser":"`, `"operatorKey":"` + op.PrivatePath + `"`, `"adminSocket":"/`, `"backend":"app"`, `"knownHosts":"/`,
		`"databases":[{"name":"staging-db-primary","role":"primary"`,
		`"lagSeconds":0`, `"caches":[{"name":"staging-utility-cache-1"`, `"vault":{"bucket":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("status JSON lacks %s: %s", key, b)
		}
	}
	// What deploy reads: a known_hosts file naming every host's address (and the published bastion).
	known, err := os.ReadFile(rep.Stacks[0].KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Stacks[0].Hosts {
		if h.Tier == "db" || h.Tier == "cache" {
			continue // managed nodes run no sshd: nothing to know
		}
		if !regexp.MustCompile(`(?m)(^|,)` + regexp.QuoteMeta(h.Address) + `[ ,]`).Match(known) {
			t.Errorf("known_hosts lacks %s:\n%s", h.Address, known)
		}
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the server did not stop")
	}
	entries, _ := os.ReadDir(netnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix+"sv-") {
			t.Errorf("after stop namespace %s is left", e.Name())
		}
	}
}

func TestRunServerServesAndCleansUp(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	dir, err := os.MkdirTemp("/run", "plinth-live-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- RunServer(ctx, ServerConfig{Dir: dir, LocalCloudDir: filepath.Join(dir, "localcloud")})
	}()
	c := NewClient(SocketPath(dir))
	var rep StatusReport
	err = waitFor(10*time.Second, func() (bool, error) {
		rep, err = c.Status(ctx)
		return err == nil, nil
	})
	if err != nil || len(rep.Stacks) != 0 {
		t.Fatalf("status %+v: %v", rep, err)
	}
	if fi, err := os.Stat(SocketPath(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v", fi, err)
	}
	if err := RunServer(ctx, ServerConfig{Dir: dir, LocalCloudDir: filepath.Join(dir, "localcloud")}); err == nil ||
		!strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second server: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"live.sock", "live.pid"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left after stop", f)
		}
	}
	if StackID("preproduction") != "preproduct" || StackID("Staging-2") != "staging2" {
		t.Errorf("StackID: %s %s", StackID("preproduction"), StackID("Staging-2"))
	}
	a, b := PlatformID("/home/a/live", "preproduction"), PlatformID("/home/b/live", "preproduction")
	if !idRE.MatchString(a) || !strings.HasPrefix(a, "preprod") || a == b || a != PlatformID("/home/a/live", "preproduction") {
		t.Errorf("PlatformID: %s %s: want preprod and 3 hex digits, one per home", a, b)
	}
}
