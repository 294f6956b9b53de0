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

// Health is the application's /health answer (examples/webservice): its status, and for each part of the
// data tier it checks "ok" or "error: ...". Database is the write: a row written on its primary (in a drill,
// the drill database) and read back; a service told of no database reports no "database" at all.
type Health struct {
	Status       string `json:"status"`
	Version      string `json:"version,omitempty"`
	Database     string `json:"database,omitempty"`
	DatabaseRead string `json:"databaseRead,omitempty"`
	Cache        string `json:"cache,omitempty"`
}

// HealthWrote is the verify step's success condition on one answer: HTTP 200, a JSON body with status
// "ok" AND database "ok". A green health without a database check ({"status":"ok"} of a service told of
// no database) is not a write, and not success; nor is a 200 whose database or status is anything else.
func HealthWrote(code int, body []byte) (Health, error) {
	text := strings.TrimSpace(string(body))
	if code != http.StatusOK {
		return Health{}, fmt.Errorf("HTTP %d: %s", code, text)
	}
	var h Health
	if err := json.Unmarshal(body, &h); err != nil {
		return Health{}, fmt.Errorf("HTTP 200 but not JSON: %s", text)
	}
	switch {
	case h.Status != "ok":
		return h, fmt.Errorf("HTTP 200 but status %q: %s", h.Status, text)
	case h.Database == "":
		return h, fmt.Errorf("HTTP 200 but no database check (the service was told of no database: nothing was written): %s", text)
	case h.Database != "ok":
		return h, fmt.Errorf("HTTP 200 but database %q: %s", h.Database, text)
	}
	return h, nil
}

// VerifyResult is what the verify step saw: the address that answered the write, after how many attempts,
// its /health, and (a data source that can read the drill database) the write found there.
type VerifyResult struct {
	URL           string         `json:"url"`
	Attempts      int            `json:"attempts"`
	Health        Health         `json:"health"`
	DatabaseWrite *DatabaseWrite `json:"databaseWrite,omitempty"`
}

// HTTPSVerifier is the verify step: it asks the drill load balancer's HTTPS address until the application
// answers a request that writes (HealthWrote: the sample service's /health writes to its primary and
// answers 200 with status and database "ok" only when the write and its other checks pass). The RTO ends at
// the first such answer, not at a green load-balancer health check. The certificate is verified (RootCAs,
// or the system pool).
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

	result *VerifyResult
}

// Reported is what the last successful Verify saw (nil: none).
func (v *HTTPSVerifier) Reported() *VerifyResult { return v.result }

// Verify implements Verifier.
func (v *HTTPSVerifier) Verify(ctx context.Context, p Plan) (time.Time, error) {
	if v.URL == "" && v.Resolve != nil {
		u, ca, err := v.Resolve(ctx, p)
		if err != nil {
			return time.Time{}, fmt.Errorf("drill load balancer address: %w", err)
		}
		resolved := &HTTPSVerifier{URL: u, CAFile: ca, Path: v.Path, RootCAs: v.RootCAs, Interval: v.Interval,
			Timeout: v.Timeout, Now: v.Now, Log: v.Log}
		at, err := resolved.Verify(ctx, p)
		v.result = resolved.result
		return at, err
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
		h, err := v.try(ctx, client, url)
		if err != nil && (ctx.Err() == nil || last == nil) {
			last = err // keep why the server refused, not the deadline that cut the last attempt
		}
		if err == nil {
			at := now()
			v.result = &VerifyResult{URL: url, Attempts: attempt, Health: h}
			if v.Log != nil {
				v.Log("drill %s: verify: %s answered a write (database %s, read from the %s) after %d attempts", p.ID, url, h.Database, h.DatabaseRead, attempt)
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

func (v *HTTPSVerifier) try(ctx context.Context, c *http.Client, url string) (Health, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Health{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return HealthWrote(resp.StatusCode, body)
}

// The write the verify step proves is the application's own: the sample service's /health writes its
// health row (userdata.AppSchema's mysqlx.AppHealthTable, id 1, `at` its time) on the primary it is told
// of. In a drill that primary is the drill database; WriteVerifier then reads the row there. Once the drill
// database is promoted nothing replicates into it any more, so a row that changed since the promotion was
// written by the drill's own application, through the drill stack.

// DatabaseWrite is the application's health row on the drill database: its `at` when the database was
// promoted (Before, "" when it had none) and after the verify's answer (At).
type DatabaseWrite struct {
	Where  string `json:"where"`
	Table  string `json:"table"`
	Before string `json:"before"`
	At     string `json:"at"`
}

// Check is the success condition: the row exists now and changed since the promotion (a later time).
func (w DatabaseWrite) Check() error {
	if w.At == "" {
		return fmt.Errorf("drill database %s: %s has no row of the application's write", w.Where, w.Table)
	}
	at, err := time.Parse(time.RFC3339Nano, w.At)
	if err != nil {
		return fmt.Errorf("drill database %s: %s at %q: not a time", w.Where, w.Table, w.At)
	}
	if w.Before == "" {
		return nil
	}
	before, err := time.Parse(time.RFC3339Nano, w.Before)
	if err == nil && !at.After(before) {
		return fmt.Errorf("drill database %s: %s at %s, as at its promotion: the application's write did not reach it", w.Where, w.Table, w.At)
	}
	return nil
}

// WriteReader reads the application's health row on the drill database (ReplicaSource, once it recovered).
type WriteReader interface {
	AppWrite(ctx context.Context, p Plan) (DatabaseWrite, error)
}

// WriteVerifier is the verify step of a drill whose data source can read the drill database: HTTPS answers
// a write (HTTPSVerifier, HealthWrote), then the drill database must hold it (DatabaseWrite.Check). The RTO
// is HTTPS's instant: the write had committed when the application answered.
type WriteVerifier struct {
	HTTPS *HTTPSVerifier
	DB    WriteReader
	Log   func(format string, args ...any)

	result *VerifyResult
}

// Reported is what the last successful Verify saw, the write on the drill database included (nil: none).
func (v *WriteVerifier) Reported() *VerifyResult { return v.result }

// Verify implements Verifier.
func (v *WriteVerifier) Verify(ctx context.Context, p Plan) (time.Time, error) {
	at, err := v.HTTPS.Verify(ctx, p)
	if err != nil {
		return at, err
	}
	w, err := v.DB.AppWrite(ctx, p)
	if err != nil {
		return time.Time{}, fmt.Errorf("the application's write on the drill database: %w", err)
	}
	if err := w.Check(); err != nil {
		return time.Time{}, err
	}
	res := VerifyResult{}
	if r := v.HTTPS.Reported(); r != nil {
		res = *r
	}
	res.DatabaseWrite = &w
	v.result = &res
	if v.Log != nil {
		v.Log("drill %s: verify: the application's write is on the drill database %s: %s at %s (at promotion: %q)", p.ID, w.Where, w.Table, w.At, w.Before)
	}
	return at, nil
}
