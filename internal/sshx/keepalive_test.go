package sshx_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// freezer relays TCP to target until frozen: then it stops moving bytes without closing anything, like a
// host that vanished from the network (no RST, no FIN).
type freezer struct {
	l      net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l}
	t.Cleanup(func() {
		_ = l.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			go f.pipe(out, in)
			go f.pipe(in, out)
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond) // hold the bytes: nothing gets through
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

func TestKeepalivesDropAConnectionThatStoppedAnswering(t *testing.T) {
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	s := sshdtest.Start(t, "app-1", sshdtest.Options{Authorized: keys.Authorized})
	fr := newFreezer(t, s.Addr)
	addr := fr.l.Addr().String()
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, s.HostKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := sshx.New(sshx.Config{KnownHosts: []string{known}, IdentityFiles: []string{keys.PrivatePath},
		KeepAlive: 100 * time.Millisecond, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := inventory.Host{Name: "app-1", Address: addr, User: "root"}
	ctx := context.Background()
	source := func() string {
		t.Helper()
		res, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sh", "-c", `echo "$SSH_CONNECTION"`}})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Stdout)
	}
	first := source()

	// The network goes silent: three unanswered keepalives (300 ms; the test waits 2 s for a busy machine)
	// later the connection is given up.
	fr.frozen.Store(true)
	time.Sleep(2 * time.Second)
	fr.frozen.Store(false)

	// The next command dials again instead of hanging on the dead connection.
	done := make(chan string, 1)
	go func() { done <- source() }()
	select {
	case second := <-done:
		if second == first {
			t.Fatalf("the command ran on the connection that stopped answering (%q)", first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a command after the network went silent hung: keepalives did not drop the connection")
	}
}
