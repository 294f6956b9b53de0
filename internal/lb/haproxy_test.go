package lb_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
)

type haproxyFixture struct {
	drainer  lb.HAProxy
	frontend string
	hosts    [2]inventory.Host
}

// startHAProxy runs a real HAProxy (Debian's) in front of two tiny HTTP servers naming themselves.
func startHAProxy(t *testing.T) haproxyFixture {
	t.Helper()
	var hosts [2]inventory.Host
	var names, addrs []string
	for i := range hosts {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("app-%d", i+1)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		hosts[i] = inventory.Host{Name: name, Port: l.Addr().(*net.TCPAddr).Port}
		names, addrs = append(names, name), append(addrs, l.Addr().String())
	}
	hp := lbtest.StartHAProxy(t, "app", "/", names, addrs)
	sock, frontend, dir := hp.Socket, hp.Frontend, filepath.Dir(hp.Log)
	d := lb.HAProxy{Dial: lb.UnixSocket(sock), Poll: 20 * time.Millisecond, DrainTimeout: 5 * time.Second, UpTimeout: 5 * time.Second}
	// Wait for the socket and for both servers to be UP.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s1, err1 := d.Stat(context.Background(), "app/app-1")
		s2, err2 := d.Stat(context.Background(), "app/app-2")
		if err1 == nil && err2 == nil && strings.HasPrefix(s1.Status, "UP") && strings.HasPrefix(s2.Status, "UP") {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
			t.Fatalf("haproxy not ready: %v %v %+v %+v\n%s", err1, err2, s1, s2, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return haproxyFixture{drainer: d, frontend: frontend, hosts: hosts}
}

func (f haproxyFixture) served(t *testing.T, n int) map[string]int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		resp, err := client.Get("http://" + f.frontend + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		seen[string(b)]++
	}
	return seen
}

func TestHAProxyConformance(t *testing.T) {
	lbtest.DrainerSuite(t, func(t *testing.T) lbtest.Fixture {
		f := startHAProxy(t)
		return lbtest.Fixture{Drainer: f.drainer, Tier: "app", Hosts: f.hosts,
			InService: func(t *testing.T, h inventory.Host) bool {
				st, err := f.drainer.Stat(context.Background(), "app/"+h.Name)
				if err != nil {
					t.Fatal(err)
				}
				return strings.HasPrefix(st.Status, "UP")
			}}
	})
}

func TestHAProxyDrainedServerGetsNoTraffic(t *testing.T) {
	f := startHAProxy(t)
	ctx := context.Background()
	if seen := f.served(t, 10); seen["app-1"] == 0 || seen["app-2"] == 0 {
		t.Fatalf("round robin before drain: %v", seen)
	}
	if err := f.drainer.Drain(ctx, "app", f.hosts[0]); err != nil {
		t.Fatal(err)
	}
	if seen := f.served(t, 10); seen["app-1"] != 0 || seen["app-2"] != 10 {
		t.Fatalf("traffic while app-1 drained: %v", seen)
	}
	if err := f.drainer.Enable(ctx, "app", f.hosts[0]); err != nil {
		t.Fatal(err)
	}
	if seen := f.served(t, 10); seen["app-1"] == 0 {
		t.Fatalf("app-1 gets no traffic after enable: %v", seen)
	}
}
