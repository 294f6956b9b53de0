package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

// TestLiveStatusReadsTheServer: the deploy wiring reads a stack's live platform from the server of the
// plinth home (its status JSON), and says "not live" (nil) when no server runs or it holds no such stack.
func TestLiveStatusReadsTheServer(t *testing.T) {
	home, err := os.MkdirTemp("", "plt-wire-") // short: a unix socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	getenv := func(k string) string {
		if k == "PLINTH_HOME" {
			return home
		}
		return ""
	}
	read := liveStatus(getenv)
	if st, err := read(context.Background(), "staging"); st != nil || err != nil {
		t.Fatalf("no server: %+v %v", st, err)
	}
	if err := os.MkdirAll(filepath.Join(home, "live"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", live.SocketPath(filepath.Join(home, "live")))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"stacks": [{"stack": "staging", "url": "https://127.0.0.1:1", "caFile": "/ca.pem", "bastion": "127.0.0.1:2",
			"sshUser": "ec2-user", "knownHosts": "/kh", "operatorKey": "/key", "adminSocket": "/admin.sock", "backend": "app",
			"hosts": [{"name": "app-1", "tier": "app", "address": "10.10.64.10", "state": "running"}], "processes": [], "published": {}}]}`))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	st, err := read(context.Background(), "staging")
	if err != nil || st == nil {
		t.Fatalf("staging: %+v %v", st, err)
	}
	if st.Bastion != "127.0.0.1:2" || st.SSHUser != "ec2-user" || st.KnownHosts != "/kh" || st.OperatorKey != "/key" ||
		st.AdminSocket != "/admin.sock" || st.Backend != "app" || len(st.Hosts) != 1 || st.Hosts[0].Name != "app-1" ||
		st.Hosts[0].Tier != "app" || st.Hosts[0].Address != "10.10.64.10" || st.Hosts[0].State != "running" {
		t.Errorf("staging: %+v", st)
	}
	if st, err := read(context.Background(), "production"); st != nil || err != nil {
		t.Errorf("a stack the server does not run: %+v %v", st, err)
	}
}
