package sshx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// pingGrace is how long a host has to answer a keepalive once a step's deadline has passed: a live sshd
// answers in milliseconds, so a host that does not within this is hung, not merely running a slow
// command. It is what a hung host costs beyond the step timeout.
const pingGrace = time.Second

type conn struct {
	ready  chan struct{}
	client *ssh.Client
	err    error
	dead   atomic.Bool
	heard  atomic.Int64 // unix nanoseconds of the last bytes read from the host
	// hung is the silence, in nanoseconds, after which the connection was given up for not answering
	// (0: it was not).
	hung atomic.Int64
}

// unresponsive is the error of an operation that failed because its connection was given up for not
// answering (by the keepalives or another step's deadline), else nil.
func (c *conn) unresponsive(h inventory.Host) error {
	if d := c.hung.Load(); d > 0 {
		return &deploy.UnresponsiveError{Addr: h.Address, Silence: time.Duration(d)}
	}
	return nil
}

// silence is how long the host has sent nothing.
func (c *conn) silence() time.Duration { return time.Since(time.Unix(0, c.heard.Load())) }

// heardConn records when bytes last came from the host.
type heardConn struct {
	net.Conn
	c *conn
}

func (h heardConn) Read(b []byte) (int, error) {
	n, err := h.Conn.Read(b)
	if n > 0 {
		h.c.heard.Store(time.Now().UnixNano())
	}
	return n, err
}

func connKey(h inventory.Host) string { return h.User + "@" + h.Address }

// client returns the connection to h, dialing it once (concurrent callers wait for the same dial).
func (r *Runner) client(ctx context.Context, h inventory.Host) (*conn, error) {
	key := connKey(h)
	r.mu.Lock()
	c, ok := r.conns[key]
	if ok {
		select {
		case <-c.ready:
			if c.err != nil || c.dead.Load() {
				ok = false // retry a failed or broken connection
			}
		default:
		}
	}
	if !ok {
		c = &conn{ready: make(chan struct{})}
		r.conns[key] = c
		r.mu.Unlock()
		c.client, c.err = r.dial(ctx, h, c)
		if c.client != nil {
			go r.watch(c)
		}
		close(c.ready)
	} else {
		r.mu.Unlock()
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

// watch sends keepalives and marks the connection dead when it breaks.
func (r *Runner) watch(c *conn) {
	done := make(chan struct{})
	go func() {
		_ = c.client.Wait()
		c.dead.Store(true)
		close(done)
	}()
	t := time.NewTicker(r.cfg.KeepAlive)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-done:
			return
		case <-t.C:
			reply := make(chan error, 1)
			go func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}()
			select {
			case err := <-reply:
				if err != nil {
					c.dead.Store(true)
					_ = c.client.Close()
					return
				}
				missed = 0
			case <-time.After(r.cfg.KeepAlive):
				if missed++; missed >= 3 {
					c.giveUp(c.silence())
					return
				}
			case <-done:
				return
			}
		}
	}
}

// giveUp abandons a connection whose host has not answered for silence: closing it releases every
// goroutine blocked on it (a channel open or request waiting for its reply, a write waiting for window),
// and the next step dials again.
func (c *conn) giveUp(silence time.Duration) {
	c.hung.CompareAndSwap(0, int64(max(silence, 1)))
	c.dead.Store(true)
	_ = c.client.Close()
}

// alive asks the host for a keepalive reply and waits at most pingGrace for it.
func (c *conn) alive() bool {
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	t := time.NewTimer(pingGrace)
	defer t.Stop()
	select {
	case err := <-reply:
		return err == nil
	case <-t.C:
		return false
	}
}

// expired decides what a passed deadline means on c: when the host still answers a keepalive, the step
// was merely slow and the error is the context's; when it does not, the connection is abandoned and the
// error is a *deploy.UnresponsiveError.
func expired(ctx context.Context, c *conn, h inventory.Host) error {
	if c.alive() {
		return fmt.Errorf("ssh %s: %w", h.Address, ctx.Err())
	}
	c.giveUp(c.silence())
	return c.unresponsive(h)
}

// await runs op, which waits for the host's answer (a channel open, a request's reply) and cannot be
// interrupted otherwise, until it returns or ctx is done. When ctx ends first, undo (if not nil) runs on
// what op returns late, and the error says whether the host stopped responding.
func await[T any](ctx context.Context, c *conn, h inventory.Host, op func() (T, error), undo func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op()
		done <- result{v, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			if ue := c.unresponsive(h); ue != nil {
				return res.v, ue
			}
		}
		return res.v, res.err
	case <-ctx.Done():
		go func() {
			if res := <-done; res.err == nil && undo != nil {
				undo(res.v)
			}
		}()
		var zero T
		return zero, expired(ctx, c, h)
	}
}

func (r *Runner) dial(ctx context.Context, h inventory.Host, c *conn) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{
		User:            h.User,
		Auth:            r.auth,
		HostKeyCallback: r.hostKey,
		Timeout:         r.cfg.DialTimeout,
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout)
	defer cancel()
	var raw net.Conn
	var err error
	via := ""
	if b := r.cfg.Bastion; b != nil && connKey(*b) != connKey(h) {
		bc, berr := r.client(ctx, *b)
		if berr != nil {
			return nil, fmt.Errorf("ssh %s: via bastion: %w", h.Address, berr)
		}
		via = " via bastion " + b.Address
		raw, err = await(ctx, bc, *b, func() (net.Conn, error) { return bc.client.Dial("tcp", h.Address) },
			func(nc net.Conn) { _ = nc.Close() })
	} else {
		var d net.Dialer
		raw, err = d.DialContext(ctx, "tcp", h.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh %s%s: dial: %w", h.Address, via, err)
	}
	connected := time.Now()
	c.heard.Store(connected.UnixNano())
	// Bound the handshake: close the connection if it outlives the context (channel conns have no deadlines).
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(heardConn{Conn: raw, c: c}, h.Address, cfg)
	if !stop() {
		if err == nil {
			_ = sc.Close()
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.heard.Load() == connected.UnixNano() {
			// It accepted the connection (a stopped sshd's socket still does) and never said a word.
			return nil, &deploy.UnresponsiveError{Addr: h.Address, Silence: time.Since(connected)}
		}
		return nil, fmt.Errorf("ssh %s%s: handshake: %w", h.Address, via, ctx.Err())
	}
	if err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("ssh %s%s: handshake: %w", h.Address, via, err)
	}
	return ssh.NewClient(sc, chans, reqs), nil
}
