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
	"path/filepath"
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
	// StacksDir, when set, holds each stack's platform directory (<StacksDir>/<StackID>) with its
	// allocation; a resume of every stack brings back the ones allocated there.
	StacksDir string
	// HealInterval is how often the server checks every host and replaces the failed ones (0: 1 s; < 0:
	// never).
	HealInterval time.Duration
	// Logf reports what healing did (nil: nothing).
	Logf func(format string, args ...any)
	// OperatorKey is the private key file of AuthorizedKeys, named in the status for deploy.
	OperatorKey string
	// Secrets is the Hook's (the local cloud's Secrets Manager).
	Secrets func(stack string) *Secrets

	mu        sync.Mutex
	platforms map[string]*Platform
	hook      *Hook
	drillMu   sync.Mutex           // serialises the drills' operations (drillserver.go)
	drills    map[string]*drillRun // drill stack -> its live parts
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
	var src *Platform
	if source, _, ok := DrillSource(stack); ok { // a drill stack lives on its source's DR VPC bridge
		if src, ok = s.platforms[source]; !ok {
			return nil, fmt.Errorf("drill stack %s: its source %s runs no live platform", stack, source)
		}
	}
	p, err := s.NewPlatform(stack)
	if err != nil {
		return nil, err
	}
	if src != nil {
		p.shareBridges(src)
	}
	s.platforms[stack] = p
	return p, nil
}

// Serve answers on l until ctx ends or a stop request came; it then stops every platform.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.platforms = map[string]*Platform{}
	s.drills = map[string]*drillRun{}
	s.hook = &Hook{Platform: s.platform, Seed: s.Seed, AuthorizedKeys: s.AuthorizedKeys, Secrets: s.Secrets}
	if s.StacksDir != "" {
		s.hook.AllocationDir = func(stack string) string { return filepath.Join(s.StacksDir, StackID(stack)) }
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); s.watch(wctx) }()
	defer func() { stopWatch(); <-watched }()
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
		if err == nil && c.Op == localcloud.OpDelete {
			err = s.drillStackGone(r.Context(), c.Stack)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /v1/resume", func(w http.ResponseWriter, r *http.Request) {
		var req ResumeRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "resume: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.resume(r.Context(), req.Stack); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		writeJSON(w, s.status())
	})
	s.drillRoutes(mux)
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
	stopWatch()
	<-watched // no healing while the platforms stop
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(sctx), s.closeAll())
}

// ResumeRequest asks the server to bring a stack's platform back ("": every allocated stack).
type ResumeRequest struct {
	Stack string `json:"stack"`
}

// resume brings stack (or every stack allocated under StacksDir) back to what its records say.
func (s *Server) resume(ctx context.Context, stack string) error {
	stacks := []string{stack}
	if stack == "" {
		if s.StacksDir == "" {
			return nil
		}
		var err error
		if stacks, err = AllocatedStacks(s.StacksDir); err != nil {
			return err
		}
	}
	var errs []error
	for _, st := range stacks {
		errs = append(errs, s.hook.Resume(ctx, st))
	}
	return errors.Join(errs...)
}

// watch heals every platform each HealInterval until ctx ends: a host whose sshd or anchor died is replaced
// (the auto scaling group keeping its desired count) and the replacement recorded in the allocation.
func (s *Server) watch(ctx context.Context) {
	interval := s.HealInterval
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = time.Second
	}
	every(ctx, interval, func() { s.healAll(ctx) })
}

// healAll heals every platform once, logging each replacement.
func (s *Server) healAll(ctx context.Context) {
	s.mu.Lock()
	stacks := sortedKeys(s.platforms)
	ps := make([]*Platform, len(stacks))
	for i, st := range stacks {
		ps[i] = s.platforms[st]
	}
	s.mu.Unlock()
	for i, st := range stacks {
		reps, err := s.hook.Heal(ctx, st, ps[i])
		if s.Logf == nil {
			continue
		}
		for _, r := range reps {
			s.Logf("heal %s: %s (%s) replaced by %s (%s): %s", st, r.Old.Name, r.Old.Address, r.New.Name, r.New.Address, r.Reason)
		}
		if err != nil && ctx.Err() == nil {
			s.Logf("heal %s: %v", st, err)
		}
	}
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
	s.drillMu.Lock()
	for _, r := range s.drills {
		r.closeForwards()
	}
	s.drills = map[string]*drillRun{}
	s.drillMu.Unlock()
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

// Resume asks the server to bring stack's platform back ("": every stack it has an allocation of) and
// returns the status after.
func (c *Client) Resume(ctx context.Context, stack string) (StatusReport, error) {
	var rep StatusReport
	err := c.do(ctx, http.MethodPost, "/v1/resume", ResumeRequest{Stack: stack}, &rep)
	return rep, err
}

// Stop asks the server to stop every process and exit (the engine's records stay).
func (c *Client) Stop(ctx context.Context) error {
	var out map[string]string
	return c.do(ctx, http.MethodPost, "/v1/stop", nil, &out)
}
