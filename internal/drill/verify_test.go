package drill_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
)

// The verify step ends at the first answer that wrote: 503s and a 200 that is not ok do not count.
func TestHTTPSVerifierWaitsForTheFirstWrite(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		switch n.Add(1) {
		case 1, 2:
			http.Error(w, `{"status":"starting"}`, http.StatusServiceUnavailable)
		case 3:
			fmt.Fprint(w, `{"status":"degraded","database":"read-only"}`)
		default:
			fmt.Fprint(w, `{"status":"ok","version":"v1"}`)
		}
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	v := &drill.HTTPSVerifier{URL: srv.URL, RootCAs: pool, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second}
	at, err := v.Verify(context.Background(), drill.Plan{ID: "drill-20261202T200400Z"})
	if err != nil || at.IsZero() {
		t.Fatalf("verify: %v %v", at, err)
	}
	if n.Load() != 4 {
		t.Errorf("%d requests: want the 4th (first ok) to end the step", n.Load())
	}
}

func TestHTTPSVerifierRefusesAnUnverifiedCertificateAndTimesOut(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	v := &drill.HTTPSVerifier{URL: srv.URL, Interval: 10 * time.Millisecond, Timeout: 300 * time.Millisecond} // system pool: not its CA
	_, err := v.Verify(context.Background(), drill.Plan{ID: "drill-20261202T200400Z"})
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "did not answer a write within") {
		t.Errorf("unverified certificate: %v", err)
	}
	if _, err := (&drill.HTTPSVerifier{URL: "http://plain"}).Verify(context.Background(), drill.Plan{}); err == nil {
		t.Error("plain http accepted")
	}
}
