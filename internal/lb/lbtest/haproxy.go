package lbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// HAProxyBin is Debian's HAProxy.
const HAProxyBin = "/usr/sbin/haproxy"

// HAProxy is a running haproxy with one backend.
type HAProxy struct {
	Socket   string // admin socket
	Frontend string // 127.0.0.1:port
	Log      string
}

// StartHAProxy runs a real HAProxy until the test ends: frontend -> backend of servers (name -> address),
// health-checked with GET checkPath every 100ms.
func StartHAProxy(t testing.TB, backend, checkPath string, names, addrs []string) *HAProxy {
	t.Helper()
	// A short path without commas: HAProxy parses both in socket addresses.
	dir, err := os.MkdirTemp("", "plinth-haproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &HAProxy{Socket: filepath.Join(dir, "admin.sock"), Frontend: fl.Addr().String(), Log: filepath.Join(dir, "haproxy.log")}
	_ = fl.Close()
	var servers strings.Builder
	for i, n := range names {
		fmt.Fprintf(&servers, "  server %s %s check inter 100ms fall 1 rise 1\n", n, addrs[i])
	}
	cfg := fmt.Sprintf(`global
  stats socket %s mode 600 level admin
  maxconn 200
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind %s
  default_backend %s
backend %s
  balance roundrobin
  option httpchk GET %s
%s`, h.Socket, h.Frontend, backend, backend, checkPath, servers.String())
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(h.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(HAProxyBin, "-db", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = logf.Close() })
	return h
}
