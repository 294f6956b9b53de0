// Package sshx implements deploy.Runner over SSH with golang.org/x/crypto/ssh: host keys verified against
// known_hosts, keys from the agent or key files, ProxyJump through the bastion, one connection per host
// reused for every step, keepalives and timeouts, and content-addressed uploads verified on the host.
package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Config configures a Runner.
type Config struct {
	// KnownHosts are known_hosts files; every host key is checked against them (required).
	KnownHosts []string
	// IdentityFiles are private keys (unencrypted; use the agent for passphrase-protected keys).
	IdentityFiles []string
	// AgentSocket is an ssh-agent socket (usually $SSH_AUTH_SOCK); "" for none.
	AgentSocket string
	// Bastion, when set, is the jump host every other host is reached through (ProxyJump).
	Bastion *inventory.Host
	// DialTimeout bounds TCP connect + SSH handshake (default 10s).
	DialTimeout time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests (default 15s); a connection that misses
	// three is closed.
	KeepAlive time.Duration
	// Compress is the wire encoding of uploads: "" or "auto" (zstd when the host has zstd), "zstd"
	// (required on the hosts), "none".
	Compress string
	// UploadWindow bounds the bytes of an upload in flight to one host, beyond what the host has written
	// (default 1 MiB; negative: unbounded). It applies when the host has perl, which acknowledges what it
	// wrote: a host whose sshd is handed data faster than it can write it buffers the excess in sshd's
	// memory, and on a busy machine growing and releasing those buffers costs more than the transfer.
	// An upload's throughput to one host is at most UploadWindow per round trip: raise it on links with
	// long round trips.
	UploadWindow int64
	// HostKeyCallback overrides KnownHosts (tests of the verification itself only).
	HostKeyCallback ssh.HostKeyCallback
}

// Runner is an SSH deploy.Runner. It keeps one connection per host; Close closes them all.
type Runner struct {
	cfg     Config
	auth    []ssh.AuthMethod
	hostKey ssh.HostKeyCallback
	agentC  net.Conn

	mu     sync.Mutex
	conns  map[string]*conn
	zcache map[string]*zentry
	mcache map[string]*mentry // artifacts in memory (inMemory), by sha256
	mbytes int64
}

var _ deploy.Runner = (*Runner)(nil)

// New builds a Runner; it reads keys and known_hosts but connects lazily.
func New(cfg Config) (*Runner, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.UploadWindow == 0 {
		cfg.UploadWindow = 1 << 20
	}
	r := &Runner{cfg: cfg, conns: map[string]*conn{}}
	var signers []ssh.Signer
	for _, f := range cfg.IdentityFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("ssh: identity: %w", err)
		}
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			var pe *ssh.PassphraseMissingError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("ssh: identity %s is passphrase-protected: load it into ssh-agent", f)
			}
			return nil, fmt.Errorf("ssh: identity %s: %w", f, err)
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		r.auth = append(r.auth, ssh.PublicKeys(signers...))
	}
	if cfg.AgentSocket != "" {
		c, err := net.Dial("unix", cfg.AgentSocket)
		if err != nil {
			return nil, fmt.Errorf("ssh: agent %s: %w", cfg.AgentSocket, err)
		}
		r.agentC = c
		r.auth = append(r.auth, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
	}
	if len(r.auth) == 0 {
		return nil, errors.New("ssh: no identity: pass --identity FILE or run an ssh-agent")
	}
	switch {
	case cfg.HostKeyCallback != nil:
		r.hostKey = cfg.HostKeyCallback
	case len(cfg.KnownHosts) == 0:
		return nil, errors.New("ssh: no known_hosts file: host keys must be verified")
	default:
		cb, err := knownhosts.New(cfg.KnownHosts...)
		if err != nil {
			return nil, fmt.Errorf("ssh: known_hosts: %w", err)
		}
		r.hostKey = explainHostKey(cb)
	}
	return r, nil
}

// explainHostKey turns knownhosts errors into messages that say what to do.
func explainHostKey(cb ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			fp := ssh.FingerprintSHA256(key)
			if len(ke.Want) == 0 {
				return fmt.Errorf("host key of %s is unknown (%s %s): refusing to connect; add it to known_hosts after checking it out of band: %w", hostname, key.Type(), fp, err)
			}
			return fmt.Errorf("host key of %s has CHANGED (now %s %s, known_hosts line %d): refusing to connect: %w", hostname, key.Type(), fp, ke.Want[0].Line, err)
		}
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			return fmt.Errorf("host key of %s is revoked: %w", hostname, err)
		}
		return err
	}
}

// Close closes every connection.
func (r *Runner) Close() error {
	r.mu.Lock()
	conns := r.conns
	r.conns = map[string]*conn{}
	r.mu.Unlock()
	var errs []error
	// Hosts first, the bastion (which carries them) last.
	var bastion *conn
	for key, c := range conns {
		<-c.ready
		if c.client == nil {
			continue
		}
		if r.cfg.Bastion != nil && key == connKey(*r.cfg.Bastion) {
			bastion = c
			continue
		}
		if err := c.client.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if bastion != nil {
		_ = bastion.client.Close()
	}
	if r.agentC != nil {
		_ = r.agentC.Close()
	}
	return errors.Join(errs...)
}

// Run implements deploy.Runner.
func (r *Runner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	var stdin io.Reader
	if c.Stdin != nil {
		stdin = bytes.NewReader(c.Stdin)
	}
	var stdout, stderr bytes.Buffer
	err := r.run(ctx, h, c.Argv, stdin, &stdout, &stderr)
	return deploy.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, err
}

func (r *Runner) run(ctx context.Context, h inventory.Host, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	st, err := r.start(ctx, h, argv, argv, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	return st.wait(ctx)
}

// running is a command started on a host (start), until wait returns.
type running struct {
	h      inventory.Host
	c      *conn
	sess   *ssh.Session
	g      *gate
	errBuf *bytes.Buffer
	argv   []string // as reported in errors
	waited chan error
}

// start opens a session on h and starts argv in it (shown is the argv errors name). Opening the session and
// starting the command wait for the host's replies, which x/crypto/ssh does not bound: await does, by ctx.
func (r *Runner) start(ctx context.Context, h inventory.Host, argv, shown []string, stdin io.Reader, stdout, stderr io.Writer) (*running, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("ssh %s: empty command", h.Address)
	}
	c, err := r.client(ctx, h)
	if err != nil {
		return nil, err
	}
	sess, err := await(ctx, c, h, c.client.NewSession, func(s *ssh.Session) { _ = s.Close() })
	if err != nil {
		var ue *deploy.UnresponsiveError
		if errors.As(err, &ue) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("ssh %s: session: %w", h.Address, err)
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// The session's copy goroutines may outlive a cancelled command: they write through a gate that is
	// shut before wait returns, so the caller's buffers are never written after that.
	st := &running{h: h, c: c, sess: sess, g: &gate{}, errBuf: &bytes.Buffer{}, argv: shown, waited: make(chan error, 1)}
	sess.Stdin = stdin
	sess.Stdout = st.g.writer(stdout)
	sess.Stderr = st.g.writer(io.MultiWriter(stderr, &limited{w: st.errBuf, n: 16 << 10}))
	startCmd := func() (struct{}, error) { return struct{}{}, sess.Start(ShellJoin(argv)) }
	if _, err := await(ctx, c, h, startCmd, nil); err != nil {
		st.g.shut()
		go sess.Close() // a hung host's connection may not take even that
		var ue *deploy.UnresponsiveError
		if errors.As(err, &ue) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("ssh %s: start: %w", h.Address, err)
	}
	go func() { st.waited <- sess.Wait() }()
	return st, nil
}

// wait waits for the command to end, at most until ctx ends.
func (st *running) wait(ctx context.Context) error {
	var err error
	select {
	case err = <-st.waited:
	case <-ctx.Done():
		// OpenSSH keeps the command running until it exits: signal it, close, and do not wait. Nothing here
		// may block on a host that stopped answering.
		st.g.shut()
		go func() {
			_ = st.sess.Signal(ssh.SIGKILL)
			_ = st.sess.Close()
		}()
		return expired(ctx, st.c, st.h)
	}
	st.g.shut()
	_ = st.sess.Close()
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return &deploy.CommandError{Argv: st.argv, ExitCode: ee.ExitStatus(), Stderr: st.errBuf.String()}
	}
	if err != nil {
		if ue := st.c.unresponsive(st.h); ue != nil {
			return ue
		}
		return fmt.Errorf("ssh %s: %w", st.h.Address, err)
	}
	return nil
}

// Connect implements deploy.Connector: it opens (or reuses) the connection to h, through the bastion when
// one is configured, without running anything.
func (r *Runner) Connect(ctx context.Context, h inventory.Host) error {
	_, err := r.client(ctx, h)
	return err
}

// DialContext implements deploy.Runner: a direct-tcpip channel from h.
func (r *Runner) DialContext(ctx context.Context, h inventory.Host, network, addr string) (net.Conn, error) {
	c, err := r.client(ctx, h)
	if err != nil {
		return nil, err
	}
	fwd, err := await(ctx, c, h, func() (net.Conn, error) { return c.client.Dial(network, addr) }, func(nc net.Conn) { _ = nc.Close() })
	if err != nil {
		var ue *deploy.UnresponsiveError
		if errors.As(err, &ue) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("ssh %s: forward to %s: %w", h.Address, addr, err)
	}
	return fwd, nil
}

// ShellJoin quotes argv for the remote user's shell (OpenSSH runs commands through it).
func ShellJoin(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// gate serializes writes to the caller's writers and drops them once shut.
type gate struct {
	mu     sync.Mutex
	closed bool
}

func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *gate) writer(w io.Writer) io.Writer { return gateWriter{g: g, w: w} }

type gateWriter struct {
	g *gate
	w io.Writer
}

func (gw gateWriter) Write(p []byte) (int, error) {
	gw.g.mu.Lock()
	defer gw.g.mu.Unlock()
	if gw.g.closed {
		return len(p), nil
	}
	return gw.w.Write(p)
}
