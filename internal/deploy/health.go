package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// health polls the service from the host until it answers 200 (with the expected version when set).
func (e *Executor) health(ctx context.Context, h inventory.Host, spec HealthSpec) error {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", spec.Port, spec.Path)
	tries := max(spec.Retries, 1)
	var lastErr error
	attempts := 0
	for i := 0; i < tries; i++ {
		attempts++
		if i > 0 {
			t := time.NewTimer(spec.Interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		lastErr = e.checkOnce(ctx, h, spec.Port, spec.Path, spec.Version, spec.Timeout)
		if lastErr == nil {
			return nil
		}
		var ue *UnresponsiveError
		if errors.As(lastErr, &ue) {
			return ue // the host itself stopped answering: retrying the service will not help
		}
		if errors.Is(lastErr, errWrongVersion) && i >= 5 {
			break // it answers, with another version: retrying longer will not help
		}
	}
	return fmt.Errorf("health %s: %d attempts: %w", url, attempts, lastErr)
}

var errWrongVersion = errors.New("wrong version")

// checkOnce is one GET of http://127.0.0.1:port/path from h, bounded by timeout. It opens the tunnel to
// the port itself, before the request: net/http gives up on a dial at its deadline without waiting for
// it, which would lose the runner's verdict on a host that stopped answering.
func (e *Executor) checkOnce(ctx context.Context, h inventory.Host, port int, path, version string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	nc, err := e.Runner.DialContext(ctx, h, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	dialed := false
	tr := &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			if dialed {
				return nil, errors.New("health: one request per connection")
			}
			dialed = true
			return nc, nil
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if version == "" {
		return nil
	}
	var v struct {
		Version *string `json:"version"`
	}
	if json.Unmarshal(body, &v) != nil || v.Version == nil {
		return nil // not a JSON body with a version: 200 is enough
	}
	if *v.Version != version {
		return fmt.Errorf("%w: serving %q, want %q", errWrongVersion, *v.Version, version)
	}
	return nil
}

// checkTier runs, before batch batchNo takes its hosts out, one health check of every host of the tier,
// in parallel, each bounded by the tier's health timeout. It refuses the batch when one of its hosts
// stopped responding (it could not be switched), and when the hosts outside the batch that pass are
// fewer than minHealthy. Only hosts in service count: those that ran a release before the plan started,
// or were switched by it (a fresh host serves nothing yet and takes nothing away). A host of the batch
// that answers SSH but fails its check is switched all the same: it is out of service already, and the
// switch is its repair.
func (e *Executor) checkTier(ctx context.Context, p *Plan, batchNo int, batch []HostSteps, out *Outcome) error {
	t0 := time.Now()
	e.emit(p, Event{Phase: PhaseCheck, Step: StepCheck, Status: StatusStart, Batch: batchNo})
	inBatch := map[string]bool{}
	var names []string
	for _, hs := range batch {
		inBatch[hs.Host] = true
		names = append(names, hs.Host)
	}
	inService := map[string]bool{}
	for _, h := range out.Switched {
		inService[h] = true
	}
	for h, v := range out.Previous {
		if v != "" {
			inService[h] = true
		}
	}
	errs := make([]error, len(p.Hosts))
	var wg sync.WaitGroup
	for i, h := range p.Hosts {
		if h.Port == 0 {
			continue // no health check: nothing to go by
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.acquire()()
			errs[i] = e.checkHost(ctx, p, h)
		}()
	}
	wg.Wait()
	capErr := &CapacityError{Batch: names, Hosts: len(p.Hosts), MinHealthy: p.MinHealthy}
	serving, first := 0, ""
	var fail error
	for i, h := range p.Hosts {
		err := errs[i]
		var ue *UnresponsiveError
		hung := errors.As(err, &ue)
		switch {
		case inBatch[h.Name] && hung:
			fail = &HostError{Host: h.Name, Step: StepCheck, Err: err}
		case inBatch[h.Name] || !inService[h.Name]:
		case err == nil:
			serving++
			capErr.Healthy++
		default:
			serving++
			if first == "" {
				first = h.Name
			}
			why := fmt.Sprintf("%s (%s) is not healthy: %v", h.Name, h.Address, err)
			if hung {
				why = fmt.Sprintf("%s (%s) stopped responding: no answer for %s", h.Name, h.Address, roundWait(ue.Silence))
			}
			capErr.Unhealthy = append(capErr.Unhealthy, why)
		}
	}
	if fail == nil && capErr.Healthy < min(p.MinHealthy, serving) {
		fail = &HostError{Host: first, Step: StepCheck, Err: capErr}
	}
	ev := Event{Phase: PhaseCheck, Step: StepCheck, Status: StatusOK, Batch: batchNo, Elapsed: Millis(time.Since(t0)),
		Message: fmt.Sprintf("%d of %d hosts in service outside the batch healthy", capErr.Healthy, serving)}
	if fail != nil {
		ev.Status, ev.Message = StatusFail, fail.Error()
	}
	e.emit(p, ev)
	return fail
}

// checkHost is one health check of h's service (any version answers).
func (e *Executor) checkHost(ctx context.Context, p *Plan, h inventory.Host) error {
	path := p.Config.Health.Path
	if path == "" {
		path = "/health"
	}
	return e.checkOnce(ctx, h, h.Port, path, "", p.Config.Health.Timeout)
}
