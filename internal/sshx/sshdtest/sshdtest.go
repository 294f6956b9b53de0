// Package sshdtest starts real OpenSSH sshd processes on 127.0.0.1 for tests: generated host and user
// keys, a known_hosts file, one release root per "host" so several hosts share one machine.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/internal/proctree"
)

// SSHD is the path of OpenSSH's daemon.
const SSHD = "/usr/sbin/sshd"

// Keys is a generated user key pair.
type Keys struct {
	PrivatePath string
	Signer      ssh.Signer
	Authorized  string // authorized_keys line
}

// NewKeys writes an ed25519 user key under dir.
func NewKeys(t testing.TB, dir string) Keys {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "plinth test user")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return Keys{PrivatePath: path, Signer: signer, Authorized: string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}
}

// Server is one running sshd.
type Server struct {
	Name    string
	Addr    string // 127.0.0.1:port
	Port    int
	Dir     string // config, keys, logs
	Root    string // the host's release root (Dir/root)
	HostKey ssh.PublicKey

	t       testing.TB
	cfgPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
}

// Options of Start.
type Options struct {
	// Authorized is the authorized_keys content.
	Authorized string
	// AllowTCPForwarding enables direct-tcpip (bastions, health checks through the host). Default true.
	NoTCPForwarding bool
}

// Start generates a host key and runs sshd on a free loopback port until the test ends.
func Start(t testing.TB, name string, opts Options) *Server {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatalf("sshdtest: %v", err)
	}
	dir := filepath.Join(t.TempDir(), name)
	s := &Server{Name: name, Dir: dir, Root: filepath.Join(dir, "root"), t: t}
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(hostKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	s.HostKey = signer.PublicKey()
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(opts.Authorized), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Port = FreePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	forwarding := "yes"
	if opts.NoTCPForwarding {
		forwarding = "no"
	}
	cfg := strings.Join([]string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKeyPath,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding " + forwarding,
		"UsePAM no",
		"MaxSessions 64",
		"Subsystem sftp internal-sftp",
		"MaxStartups 100:30:200",
		"LogLevel ERROR",
		// bash sources ~/.bashrc for commands run by sshd unless it is a nested shell; a developer's
		// heavy root .bashrc (pyenv init...) would otherwise cost seconds per command.
		"SetEnv SHLVL=1",
		"",
	}, "\n")
	s.cfgPath = filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.Dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(SSHD, "-D", "-e", "-f", s.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("sshdtest %s: start sshd: %v", s.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
			s.t.Fatalf("sshdtest %s: sshd exited: %s", s.Name, log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sshdtest %s: sshd not listening on %s", s.Name, s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops sshd and every session process it started (its process group), like a host whose sshd dies.
// Processes detached with setsid (the services) keep running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	// sshd puts each connection in its own session (setsid): kill the listener's whole process tree.
	for _, pid := range proctree.Descendants(cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Freeze stops (SIGSTOP) sshd and every process it started, like a host that hangs: connections stay
// open, the kernel still accepts new ones, and nothing answers. The returned func resumes them.
func (s *Server) Freeze() (thaw func()) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return func() {}
	}
	pids := append([]int{cmd.Process.Pid}, proctree.Descendants(cmd.Process.Pid)...)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	return func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
}

// Stop is Kill, for cleanup.
func (s *Server) Stop() { s.Kill() }

// Restart starts sshd again on the same port with the same keys.
func (s *Server) Restart() { s.start() }

// KnownHostsLine is this server's known_hosts line.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
}

// WriteKnownHosts writes a known_hosts file for servers.
func WriteKnownHosts(t testing.TB, path string, servers ...*Server) {
	t.Helper()
	var b strings.Builder
	for _, s := range servers {
		b.WriteString(s.KnownHostsLine())
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	servicePortsMu sync.Mutex
	servicePorts   = map[int]*os.File{}
)

// portLockDir holds one lock file per service port handed out; the flock on it is held until the test
// process exits, so concurrent test processes (go test ./... runs packages in parallel, benches beside them)
// never hand out the same port between its probe and the service's bind.
var portLockDir = filepath.Join(os.TempDir(), "plinth-test-ports")

// ServicePort returns a free loopback port below Linux's ephemeral range (32768+), not handed out before in
// this process nor held by another test process: a service restarted on it cannot find it taken by some
// outgoing connection or another test's service.
func ServicePort(t testing.TB) int {
	t.Helper()
	servicePortsMu.Lock()
	defer servicePortsMu.Unlock()
	if err := os.MkdirAll(portLockDir, 0o777); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	for i := 0; i < 1000; i++ {
		p := 20000 + mrand.IntN(12000)
		if servicePorts[p] != nil {
			continue
		}
		f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close() // another test process holds it
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			_ = f.Close()
			continue
		}
		_ = l.Close()
		servicePorts[p] = f // held (and locked) until the process exits
		return p
	}
	t.Fatal("sshdtest: no free service port in 20000-31999")
	return 0
}

// String names the server.
func (s *Server) String() string { return fmt.Sprintf("%s(%s)", s.Name, s.Addr) }

// Pid is the process id of the sshd listening (0 when it is not running): every session's processes
// run under it.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
