package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// Server holds the live platforms of every stack in one long-lived process (the supervisor that outlives
// the commands), and answers them over a unix socket: the engine's changes (RemoteHook), status and stop.
type Server struct {
	// NewPlatform creates a stack's platform on first use.
	NewPlatform func(stack string) (*Platform, error)
	// Seed and AuthorizedKeys are the Hook's.
	Seed           func(stack string) ([]localcloud.Resource, error)
	AuthorizedKeys string
	// OperatorKey is the private key file of AuthorizedKeys, named in the status for deploy.
	OperatorKey string
	// Secrets is the Hook's (the local cloud's Secrets Manager).
	Secrets func(stack string) *Secrets

	mu        sync.Mutex
	platforms map[string]*Platform
	hook      *Hook
}

// StackStatus is one stack in `plinth local status`.
type StackStatus struct {
	Stack string `json:"stack"`
	Status
}

// StatusReport is what `plinth local status -o json` prints.
type StatusReport struct {
	Stacks []StackStatus `json:"stacks"`
}

func (s *Server) platform(stack string) (*Platform, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.platforms[stack]; ok {
		return p, nil
	}
	p, err := s.NewPlatform(stack)
	if err != nil {
		return nil, err
	}
	s.platforms[stack] = p
	return p, nil
}

// Serve answers on l until ctx ends or a stop request came; it then stops every platform.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.platforms = map[string]*Platform{}
	s.hook = &Hook{Platform: s.platform, Seed: s.Seed, AuthorizedKeys: s.AuthorizedKeys, Secrets: s.Secrets}
	stop := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/changes", func(w http.ResponseWriter, r *http.Request) {
		var c localcloud.Change
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, "change: "+err.Error(), http.StatusBadRequest)
			return
		}
		out, err := s.hook.Apply(r.Context(), c)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.status()) })
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"stopping": "all"})
		once.Do(func() { close(stop) })
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
	case <-stop:
	case err := <-errc:
		return errors.Join(err, s.closeAll())
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(sctx), s.closeAll())
}

func (s *Server) status() StatusReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := StatusReport{Stacks: []StackStatus{}}
	for _, stack := range sortedKeys(s.platforms) {
		st := StackStatus{Stack: stack, Status: s.platforms[stack].Status()}
		st.OperatorKey = s.OperatorKey
		rep.Stacks = append(rep.Stacks, st)
	}
	sort.Slice(rep.Stacks, func(i, j int) bool { return rep.Stacks[i].Stack < rep.Stacks[j].Stack })
	return rep
}

func (s *Server) closeAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, stack := range sortedKeys(s.platforms) {
		if err := s.platforms[stack].Close(); err != nil {
			errs = append(errs, fmt.Errorf("stack %s: %w", stack, err))
		}
	}
	s.platforms = map[string]*Platform{}
	return errors.Join(errs...)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Client talks to a Server's unix socket.
type Client struct {
	http *http.Client
}

// NewClient returns a client of the server listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{http: &http.Client{Transport: tr}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://live"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("live cloud: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("live cloud: %s", bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Apply implements localcloud.Hook by handing the change to the server (RemoteHook).
func (c *Client) Apply(ctx context.Context, ch localcloud.Change) (map[string]any, error) {
	var out map[string]any
	if err := c.do(ctx, http.MethodPost, "/v1/changes", ch, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Status reports every stack's platform.
func (c *Client) Status(ctx context.Context) (StatusReport, error) {
	var rep StatusReport
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &rep)
	return rep, err
}

// Stop asks the server to stop every process and exit (the engine's records stay).
func (c *Client) Stop(ctx context.Context) error {
	var out map[string]string
	return c.do(ctx, http.MethodPost, "/v1/stop", nil, &out)
}
