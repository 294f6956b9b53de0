// Package deploysim runs the real deploy planner and executor against simulated hosts: an in-memory
// deploy.Runner and deploy.ArtifactStore whose every operation takes the time a latency/bandwidth model
// gives it. It is meant to run inside a testing/synctest bubble, where time.Sleep advances a fake clock
// as soon as every goroutine waits: a 1,000-host deploy of simulated hours takes seconds of CPU, and the
// deploy time it reports is the model's, not the machine's.
package deploysim

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Model is the latency/bandwidth model. Bandwidths are bytes per second.
type Model struct {
	// RTT is the round trip from the operator to a host through the bastion (per AZ, say).
	RTT func(h inventory.Host) time.Duration
	// BastionRTT is the round trip from the operator to the bastion (lock and audit commands).
	BastionRTT time.Duration
	// Uplink is the operator's uplink; Bastion the bastion's bandwidth. Push staging sends every copy
	// through both, so its uploads share min(Uplink, Bastion).
	Uplink, Bastion float64
	// HostBW is each host's own download bandwidth (pull staging fetches at it, in parallel); StoreBW the
	// store's aggregate egress (0: unlimited, as a regional S3 is for a few thousand readers).
	HostBW, StoreBW float64
	// Exec is the cost of one command on a host (session, fork/exec, the script); Restart the service's
	// restart inside the switch command; Hash a host's sha256 rate.
	Exec, Restart time.Duration
	Hash          float64
	// Chunk is the unit in which shared links are handed out (fair sharing); default 1 MiB.
	Chunk int64
}

func (m Model) chunk() int64 {
	if m.Chunk > 0 {
		return m.Chunk
	}
	return 1 << 20
}

func (m Model) rtt(h inventory.Host) time.Duration {
	if m.RTT == nil {
		return 0
	}
	return m.RTT(h)
}

// bytesTime is how long size bytes take at bw bytes/s (0 bw: no time).
func bytesTime(size int64, bw float64) time.Duration {
	if bw <= 0 {
		return 0
	}
	return time.Duration(float64(size) / bw * float64(time.Second))
}

// link is a bandwidth shared fairly by everything sent through it: one chunk at a time, each for
// chunk/bw. Its total time for B bytes is B/bw however many share it.
type link struct {
	bw  float64
	tok chan struct{}
}

func newLink(bw float64) *link { return &link{bw: bw, tok: make(chan struct{}, 1)} }

func (l *link) send(ctx context.Context, size, chunk int64) error {
	if l == nil || l.bw <= 0 {
		return nil
	}
	for size > 0 {
		n := min(size, chunk)
		select {
		case l.tok <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		time.Sleep(bytesTime(n, l.bw))
		<-l.tok
		size -= n
	}
	return nil
}

// Sim is a fleet of simulated hosts, the bastion and the object store. It implements deploy.Runner and
// deploy.ArtifactStore. Create it inside the synctest bubble (its links are channels of the bubble).
type Sim struct {
	M Model

	push, store *link

	mu        sync.Mutex
	current   map[string]string // host -> current version
	stored    map[string]int64  // store key -> size
	PushBytes int64             // bytes through the operator's SSH connections (uploads)
	StoreIn   int64             // bytes into the store
	Fetched   int64             // bytes hosts fetched from the store
	Commands  int
	Checks    int // health requests
}

// New returns a fleet where every host runs version v0.
func New(m Model) *Sim {
	return &Sim{M: m, push: newLink(minPos(m.Uplink, m.Bastion)), store: newLink(m.StoreBW),
		current: map[string]string{}, stored: map[string]int64{}}
}

func minPos(a, b float64) float64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

func (s *Sim) version(h string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.current[h]; ok {
		return v
	}
	return "v0"
}

// Run answers the executor's commands as hosts would, after the model's time.
func (s *Sim) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	name := ""
	if len(c.Argv) > 3 && c.Argv[0] == "sh" {
		name = c.Argv[3]
	}
	s.mu.Lock()
	s.Commands++
	s.mu.Unlock()
	rtt := s.M.rtt(h)
	if strings.HasPrefix(name, "plinth-lock") || strings.HasPrefix(name, "plinth-unlock") || strings.HasPrefix(name, "plinth-audit") {
		rtt = s.M.BastionRTT
	}
	if err := sleep(ctx, rtt+s.M.Exec); err != nil {
		return deploy.Result{}, err
	}
	switch name {
	case "plinth-stage":
		return deploy.Result{Stdout: fmt.Appendf(nil, "current releases/%s\nstaged\n", s.version(h.Name))}, nil
	case "plinth-switch":
		v := c.Argv[5]
		if err := sleep(ctx, s.M.Restart); err != nil {
			return deploy.Result{}, err
		}
		s.mu.Lock()
		s.current[h.Name] = v
		s.mu.Unlock()
		return deploy.Result{Stdout: listing(v)}, nil
	case "plinth-list":
		return deploy.Result{Stdout: listing(s.version(h.Name))}, nil
	case "plinth-fetch":
		return s.fetch(ctx, h, c)
	}
	return deploy.Result{}, nil
}

func listing(v string) []byte {
	return fmt.Appendf(nil, "current releases/%s\nrelease v0 %064x 1\nrelease %s %064x 2\n", v, 0, v, 1)
}

// fetch: the host downloads the object at its own bandwidth (and the store's share), then hashes it.
func (s *Sim) fetch(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	key := strings.TrimSpace(strings.TrimPrefix(string(c.Stdin), "sim://"))
	s.mu.Lock()
	size, ok := s.stored[key]
	s.mu.Unlock()
	if !ok {
		return deploy.Result{}, &deploy.CommandError{Argv: c.Argv, ExitCode: 22, Stderr: "curl: (22) 404 " + key}
	}
	// The GET's round trip to the store, the body at the host's bandwidth (the store's share of its
	// egress when that is smaller: the slower of the two bounds it), then the sha256.
	t := time.Now()
	if err := s.store.send(ctx, size, s.M.chunk()); err != nil {
		return deploy.Result{}, err
	}
	if rest := bytesTime(size, s.M.HostBW) - time.Since(t); rest > 0 {
		if err := sleep(ctx, rest); err != nil {
			return deploy.Result{}, err
		}
	}
	if err := sleep(ctx, s.M.rtt(h)/2+bytesTime(size, s.M.Hash)); err != nil {
		return deploy.Result{}, err
	}
	s.mu.Lock()
	s.Fetched += size
	s.mu.Unlock()
	return deploy.Result{Stdout: []byte("fetched\n")}, nil
}

// Upload sends u through the operator's uplink and the bastion, shared with every other upload.
func (s *Sim) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	if err := sleep(ctx, s.M.rtt(h)); err != nil { // the probe: stored sha256?
		return 0, err
	}
	if err := s.push.send(ctx, u.Size, s.M.chunk()); err != nil {
		return 0, err
	}
	if err := sleep(ctx, bytesTime(u.Size, s.M.Hash)); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.PushBytes += u.Size
	s.mu.Unlock()
	if progress != nil {
		progress(u.Size)
	}
	return u.Size, nil
}

// DialContext connects to the host's service: one HTTP request answered with the current version.
func (s *Sim) DialContext(ctx context.Context, h inventory.Host, _, _ string) (net.Conn, error) {
	if err := sleep(ctx, s.M.rtt(h)/2); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.Checks++
	s.mu.Unlock()
	c, srv := net.Pipe()
	go func() {
		defer srv.Close()
		req, err := http.ReadRequest(bufio.NewReader(srv))
		if err != nil {
			return
		}
		_ = req.Body.Close()
		time.Sleep(s.M.rtt(h) / 2)
		body := fmt.Sprintf(`{"version":%q}`, s.version(h.Name))
		fmt.Fprintf(srv, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	}()
	return c, nil
}

// Put stores the artifact through the operator's uplink (not the bastion).
func (s *Sim) Put(ctx context.Context, key, _ string, size int64) (int64, error) {
	s.mu.Lock()
	_, ok := s.stored[key]
	s.mu.Unlock()
	if ok {
		return 0, nil
	}
	up := newLink(s.M.Uplink)
	if err := sleep(ctx, s.M.BastionRTT); err != nil { // HEAD, then PUT: ~ one round trip each
		return 0, err
	}
	if err := up.send(ctx, size, s.M.chunk()); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.stored[key] = size
	s.StoreIn += size
	s.mu.Unlock()
	return size, nil
}

// PresignGet signs locally (no I/O, as the SDK does).
func (s *Sim) PresignGet(_ context.Context, key string, _ time.Duration) (string, error) {
	return "sim://" + key, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
