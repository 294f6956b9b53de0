package drill

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/tlsx"
)

// HTTPSVerifier is the verify step: it asks the drill load balancer's HTTPS address until the application
// answers a request that writes (the sample service's /health writes to its primary and answers 200 with
// {"status":"ok"} only when the write and its other checks pass). The RTO ends at the first such answer, not
// at a green load-balancer health check. The certificate is verified (RootCAs, or the system pool).
type HTTPSVerifier struct {
	// URL is the drill's published HTTPS address; Path the writing request (default /health).
	URL  string
	Path string
	// Resolve gives URL and CAFile when URL is empty (the drill stack's address is known once it is built).
	Resolve func(ctx context.Context, p Plan) (url, caFile string, err error)
	// RootCAs verifies the load balancer's certificate (nil: the system pool). CAFile loads one from a file.
	RootCAs *x509.CertPool
	CAFile  string
	// Interval between attempts (default 1s); Timeout bounds the whole step (default 15 minutes).
	Interval time.Duration
	Timeout  time.Duration
	Now      func() time.Time
	Log      func(format string, args ...any)
}

// Verify implements Verifier.
func (v *HTTPSVerifier) Verify(ctx context.Context, p Plan) (time.Time, error) {
	if v.URL == "" && v.Resolve != nil {
		u, ca, err := v.Resolve(ctx, p)
		if err != nil {
			return time.Time{}, fmt.Errorf("drill load balancer address: %w", err)
		}
		resolved := *v
		resolved.URL, resolved.CAFile, resolved.Resolve = u, ca, nil
		return resolved.Verify(ctx, p)
	}
	if !strings.HasPrefix(v.URL, "https://") {
		return time.Time{}, fmt.Errorf("drill load balancer address %q: want https://", v.URL)
	}
	pool := v.RootCAs
	if pool == nil && v.CAFile != "" {
		p, err := tlsx.CAPool(v.CAFile)
		if err != nil {
			return time.Time{}, fmt.Errorf("drill CA: %w", err)
		}
		pool = p
	}
	interval, timeout, now := v.Interval, v.Timeout, v.Now
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
	path := v.Path
	if path == "" {
		path = "/health"
	}
	url := strings.TrimSuffix(v.URL, "/") + path
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for attempt := 1; ; attempt++ {
		err := v.try(ctx, client, url)
		if err != nil && (ctx.Err() == nil || last == nil) {
			last = err // keep why the server refused, not the deadline that cut the last attempt
		}
		if err == nil {
			at := now()
			if v.Log != nil {
				v.Log("drill %s: verify: %s answered a write after %d attempts", p.ID, url, attempt)
			}
			return at, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s did not answer a write within %s: last: %w", url, timeout, last)
		case <-time.After(interval):
		}
	}
}

func (v *HTTPSVerifier) try(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
		return fmt.Errorf("HTTP 200 but not {\"status\":\"ok\"}: %s", strings.TrimSpace(string(body)))
	}
	return nil
}
