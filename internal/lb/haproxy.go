package lb

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// HAProxy drains servers through HAProxy's runtime API. The server of a host is <Backend>/<host name>.
type HAProxy struct {
	// Dial connects to the admin socket (a unix socket, or a TCP one reached through SSH).
	Dial func(ctx context.Context) (net.Conn, error)
	// Backends maps a tier to its HAProxy backend (default: the tier name).
	Backends map[string]string
	// DrainTimeout bounds the wait for a draining server's sessions to end (default 30s).
	DrainTimeout time.Duration
	// UpTimeout bounds the wait for an enabled server to pass its checks (default 30s).
	UpTimeout time.Duration
	// Poll is the interval of state checks (default 100ms).
	Poll time.Duration
}

// UnixSocket dials a local admin socket.
func UnixSocket(path string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

func (h HAProxy) server(tier string, host inventory.Host) (string, error) {
	b := tier
	if v, ok := h.Backends[tier]; ok {
		b = v
	}
	if !nameRE.MatchString(b) || !nameRE.MatchString(host.Name) {
		return "", fmt.Errorf("haproxy: invalid backend/server %q/%q", b, host.Name)
	}
	return b + "/" + host.Name, nil
}

// Drain stops new traffic to the host's server, waits for its sessions to end, then puts it in maintenance.
func (h HAProxy) Drain(ctx context.Context, tier string, host inventory.Host) error {
	srv, err := h.server(tier, host)
	if err != nil {
		return err
	}
	if err := h.set(ctx, srv, "drain"); err != nil {
		return err
	}
	err = poll(ctx, h.poll(), or(h.DrainTimeout, 30*time.Second), func() (bool, error) {
		st, err := h.Stat(ctx, srv)
		if err != nil {
			return false, err
		}
		return st.Sessions == 0, nil
	})
	if err != nil {
		return fmt.Errorf("haproxy drain %s: waiting for sessions to end: %w", srv, err)
	}
	return h.set(ctx, srv, "maint")
}

// Enable puts the server back and waits until HAProxy reports it UP. The deploy calls it after the host
// passed its own health check, so a checked server's health is set up at once (`set server .. health up`)
// rather than after `rise` checks at the check interval (30 s and more on an ALB-like target group); the
// checks go on and take it out again if it fails them.
func (h HAProxy) Enable(ctx context.Context, tier string, host inventory.Host) error {
	srv, err := h.server(tier, host)
	if err != nil {
		return err
	}
	if err := h.set(ctx, srv, "ready"); err != nil {
		return err
	}
	if st, err := h.Stat(ctx, srv); err == nil && st.Status != "no check" && !strings.HasPrefix(st.Status, "UP") {
		if out, err := h.Command(ctx, "set server "+srv+" health up"); err != nil || strings.TrimSpace(out) != "" {
			return fmt.Errorf("haproxy set %s health up: %v %s", srv, err, strings.TrimSpace(out))
		}
	}
	err = poll(ctx, h.poll(), or(h.UpTimeout, 30*time.Second), func() (bool, error) {
		st, err := h.Stat(ctx, srv)
		if err != nil {
			return false, err
		}
		return strings.HasPrefix(st.Status, "UP") || st.Status == "no check", nil
	})
	if err != nil {
		return fmt.Errorf("haproxy enable %s: waiting for UP: %w", srv, err)
	}
	return nil
}

func (h HAProxy) set(ctx context.Context, srv, state string) error {
	out, err := h.Command(ctx, "set server "+srv+" state "+state)
	if err != nil {
		return fmt.Errorf("haproxy set %s %s: %w", srv, state, err)
	}
	if s := strings.TrimSpace(out); s != "" {
		return fmt.Errorf("haproxy set %s %s: %s", srv, state, s)
	}
	return nil
}

// ServerStat is a server's row of `show stat`.
type ServerStat struct {
	Status   string // UP, DOWN, MAINT, DRAIN, "no check", ...
	Sessions int    // current sessions
}

// Stat reads a server's status and current sessions.
func (h HAProxy) Stat(ctx context.Context, srv string) (ServerStat, error) {
	backend, server, _ := strings.Cut(srv, "/")
	out, err := h.Command(ctx, "show stat")
	if err != nil {
		return ServerStat{}, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return ServerStat{}, fmt.Errorf("haproxy show stat: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ServerStat{}, fmt.Errorf("haproxy show stat: %w", err)
		}
		if rec[col["pxname"]] == backend && rec[col["svname"]] == server {
			n, _ := strconv.Atoi(rec[col["scur"]])
			return ServerStat{Status: rec[col["status"]], Sessions: n}, nil
		}
	}
	return ServerStat{}, fmt.Errorf("haproxy: no server %s", srv)
}

// Command sends one runtime API command and returns the reply.
func (h HAProxy) Command(ctx context.Context, cmd string) (string, error) {
	if h.Dial == nil {
		return "", errors.New("haproxy: no admin socket")
	}
	c, err := h.Dial(ctx)
	if err != nil {
		return "", fmt.Errorf("haproxy admin socket: %w", err)
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
	} else {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy admin socket: %w", err)
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		return "", fmt.Errorf("haproxy admin socket: %w", err)
	}
	return string(b), nil
}

func (h HAProxy) poll() time.Duration { return or(h.Poll, 100*time.Millisecond) }

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
