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

// firstPoll is the first wait between health polls after a failed one; each wait doubles up to the
// spec's interval. A service restarted by the switch usually answers within milliseconds on a quiet host:
// polling at the interval from the start made every switch wait a full interval (100 ms) for a service
// that was up after 5. The time budget stays the spec's: retries x interval.
const firstPoll = 2 * time.Millisecond

// health polls the service from the host until it answers 200 (with the expected version when set),
// backing off from firstPoll to spec.Interval, for at most (retries-1) x interval of waiting.
func (e *Executor) health(ctx context.Context, h inventory.Host, spec HealthSpec) error {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", spec.Port, spec.Path)
	tries := max(spec.Retries, 1)
	budget := time.Duration(tries-1) * spec.Interval
	wait := min(firstPoll, spec.Interval)
	var lastErr error
	var waited time.Duration
	attempts := 0
	for {
		attempts++
		lastErr = e.checkOnce(ctx, h, spec.Port, spec.Path, spec.Version, spec.Timeout)
		if lastErr == nil {
			return nil
		}
		var ue *UnresponsiveError
		if errors.As(lastErr, &ue) {
			return ue // the host itself stopped answering: retrying the service will not help
		}
		if errors.Is(lastErr, errWrongVersion) && waited >= 5*spec.Interval {
			break // it answers, with another version: retrying longer will not help
		}
		if spec.Interval <= 0 {
			if attempts >= tries {
				break
			}
			continue
		}
		if waited >= budget {
			break
		}
		d := min(wait, budget-waited)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		waited += d
		wait = min(2*wait, spec.Interval)
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
// in parallel, each bounded by the tier's health timeout. Only hosts in service count: those that ran a
// release before the plan started, or were switched by it (a fresh host serves nothing yet and takes
// nothing away). It refuses the batch when one of its hosts stopped responding (it could not be switched),
// and when taking it out would leave fewer than minHealthy healthy hosts — unless the batch takes out no
// healthy host at all. Then, when hosts of later batches answer SSH but fail their check, it returns them
// (at most a batch of them) to be switched first: they are out of service already, so switching them
// costs nothing, and it is their repair; a rollback of a release that broke hosts needs exactly that.
// Otherwise the rollout stops, naming the unhealthy host.
func (e *Executor) checkTier(ctx context.Context, p *Plan, batchNo int, batch []HostSteps, later [][]HostSteps, out *Outcome, board *healthBoard) ([]HostSteps, error) {
	t0 := time.Now()
	fresh := e.freshFor(len(p.Hosts))
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
	checked := 0
	for i, h := range p.Hosts {
		if h.Port == 0 {
			continue // no health check: nothing to go by
		}
		if !inBatch[h.Name] && board.fresh(h.Name, fresh) {
			continue // healthy within the freshness window: counts as healthy, not asked again
		}
		checked++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.acquire()()
			errs[i] = e.checkHost(ctx, p, h)
			board.record(h.Name, errs[i])
		}()
	}
	wg.Wait()
	capErr := &CapacityError{Batch: names, Hosts: len(p.Hosts), MinHealthy: p.MinHealthy}
	serving, healthyInBatch, first := 0, 0, ""
	repairable := map[string]bool{} // in service, answering SSH, failing the check
	var fail error
	for i, h := range p.Hosts {
		err := errs[i]
		var ue *UnresponsiveError
		hung := errors.As(err, &ue)
		switch {
		case inBatch[h.Name] && hung:
			fail = &HostError{Host: h.Name, Step: StepCheck, Err: err}
		case inBatch[h.Name]:
			if err == nil && inService[h.Name] {
				healthyInBatch++
			}
		case !inService[h.Name]:
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
			} else {
				repairable[h.Name] = true
			}
			capErr.Unhealthy = append(capErr.Unhealthy, why)
		}
	}
	var pulled []HostSteps
	if fail == nil && healthyInBatch > 0 && capErr.Healthy < min(p.MinHealthy, serving) {
		for _, b := range later {
			for _, hs := range b {
				if repairable[hs.Host] && len(pulled) < max(p.BatchSize, 1) {
					pulled = append(pulled, hs)
				}
			}
		}
		if len(pulled) == 0 {
			fail = &HostError{Host: first, Step: StepCheck, Err: capErr}
		}
	}
	ev := Event{Phase: PhaseCheck, Step: StepCheck, Status: StatusOK, Batch: batchNo, Elapsed: Millis(time.Since(t0)),
		Message: fmt.Sprintf("%d of %d hosts in service outside the batch healthy", capErr.Healthy, serving)}
	if skipped := len(p.Hosts) - checked; fresh > 0 && skipped > 0 {
		ev.Message += fmt.Sprintf(" (%d asked now, %d healthy within %s)", checked, skipped, roundWait(fresh))
	}
	switch {
	case fail != nil:
		ev.Status, ev.Message = StatusFail, fail.Error()
	case pulled != nil:
		var hosts []string
		for _, hs := range pulled {
			hosts = append(hosts, hs.Host)
		}
		ev.Message = fmt.Sprintf("%s; %s out of service already: switched first", strings.Join(capErr.Unhealthy, "; "), strings.Join(hosts, ", "))
	}
	e.emit(p, ev)
	return pulled, fail
}

// checkHost is one health check of h's service (any version answers).
func (e *Executor) checkHost(ctx context.Context, p *Plan, h inventory.Host) error {
	path := p.Config.Health.Path
	if path == "" {
		path = "/health"
	}
	return e.checkOnce(ctx, h, h.Port, path, "", p.Config.Health.Timeout)
}

// DefaultHealthRate is Executor.HealthRate when it is not set: health requests per second that the checks
// before batches may spend on the hosts outside the batch.
const DefaultHealthRate = 100

// freshFor is how long a passed health check of one of n hosts stands for the checks before batches:
// n / HealthRate. Asking every host before every batch costs n x batches = O(n^2) requests over a rollout
// (334,000 at 1,000 hosts in batches of 3); trusting a pass for n / rate costs at most rate x the rollout's
// time, which grows linearly with n. Small tiers keep their per-batch checks: 40 ms at 4 hosts, shorter than
// a batch; 1,000 hosts get 10 s. The hosts of the batch itself are always asked, and a failed check is
// never trusted: only passes are.
func (e *Executor) freshFor(n int) time.Duration {
	rate := e.HealthRate
	if rate == 0 {
		rate = DefaultHealthRate
	}
	if rate < 0 {
		return 0 // every host before every batch
	}
	return time.Duration(float64(n) / rate * float64(time.Second))
}

// healthBoard holds, during a rollout, when each host last passed a health check (the tier checks before
// batches and the health step after a switch); a failed check clears it.
type healthBoard struct {
	mu     sync.Mutex
	now    func() time.Time
	passed map[string]time.Time
}

func newHealthBoard(now func() time.Time) *healthBoard {
	return &healthBoard{now: now, passed: map[string]time.Time{}}
}

func (b *healthBoard) record(host string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		delete(b.passed, host)
		return
	}
	b.passed[host] = b.now()
}

// fresh says whether host passed a check less than d ago.
func (b *healthBoard) fresh(host string, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.passed[host]
	return ok && b.now().Sub(t) < d
}
