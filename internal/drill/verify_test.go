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

// The verify step ends at the first answer that wrote: 503s, a 200 that is not ok, and an ok 200 of a
// service that checked no database do not count.
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
		case 4:
			fmt.Fprint(w, `{"status":"ok","version":"v1"}`)
		default:
			fmt.Fprint(w, `{"status":"ok","version":"v1","database":"ok","databaseRead":"primary"}`)
		}
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	v := &drill.HTTPSVerifier{URL: srv.URL, RootCAs: pool, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second}
	at, err := v.Verify(context.Background(), drill.Plan{ID: "drill-20261202T200400Z"})
	if err != nil || at.IsZero() {
		t.Fatalf("verify: %v %v", at, err)
	}
	if n.Load() != 5 {
		t.Errorf("%d requests: want the 5th (the first that wrote) to end the step", n.Load())
	}
	if r := v.Reported(); r == nil || r.Attempts != 5 || r.Health.Database != "ok" || r.Health.DatabaseRead != "primary" || r.URL != srv.URL+"/health" {
		t.Errorf("reported %+v", r)
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

// HealthWrote is the success condition: 200, status ok and database ok; anything else names why not.
func TestHealthWrote(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		want string // "" success, else a part of the error
	}{
		{200, `{"status":"ok","version":"v1","database":"ok","databaseRead":"primary"}`, ""},
		{200, `{"status":"ok","database":"ok","databaseRead":"replica","cache":"ok"}`, ""},
		{200, `{"status":"ok","version":"v1"}`, "no database check"},
		{200, `{"status":"ok","database":"error: primary write: read-only"}`, `database "error: primary write`},
		{200, `{"status":"degraded","database":"ok","cache":"error: AUTH"}`, `status "degraded"`},
		{503, `{"status":"degraded","database":"error: x"}`, "HTTP 503"},
		{200, `<html>ok</html>`, "not JSON"},
		{200, ``, "not JSON"},
	} {
		h, err := drill.HealthWrote(tc.code, []byte(tc.body))
		switch {
		case tc.want == "" && (err != nil || h.Database != "ok"):
			t.Errorf("%d %s: %+v %v, want success", tc.code, tc.body, h, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%d %s: %v, want an error naming %q", tc.code, tc.body, err, tc.want)
		}
	}
}

// The write on the drill database: the health row must exist and be later than at the promotion.
func TestDatabaseWriteCheck(t *testing.T) {
	const before, after = "2026-12-03T10:00:00.5Z", "2026-12-03T10:00:01Z"
	for _, tc := range []struct {
		w    drill.DatabaseWrite
		want string
	}{
		{drill.DatabaseWrite{Before: before, At: after}, ""},
		{drill.DatabaseWrite{Before: "", At: after}, ""},
		{drill.DatabaseWrite{Before: before, At: before}, "did not reach it"},
		{drill.DatabaseWrite{Before: after, At: before}, "did not reach it"},
		{drill.DatabaseWrite{Before: before, At: ""}, "no row"},
		{drill.DatabaseWrite{At: "yesterday"}, "not a time"},
	} {
		tc.w.Where, tc.w.Table = "drill-db", "plinth_app.health"
		err := tc.w.Check()
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "drill-db"))) {
			t.Errorf("%+v: %v, want %q", tc.w, err, tc.want)
		}
	}
}

type fakeWrites struct {
	w   drill.DatabaseWrite
	err error
}

func (f fakeWrites) AppWrite(context.Context, drill.Plan) (drill.DatabaseWrite, error) {
	return f.w, f.err
}

// WriteVerifier: the HTTPS write, then that write on the drill database; either missing fails the step.
func TestWriteVerifierRequiresTheRowOnTheDrillDatabase(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"status":"ok","database":"ok","databaseRead":"primary"}`)
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	p := drill.Plan{ID: "drill-20261202T200400Z"}
	written := drill.DatabaseWrite{Where: "drill-db", Table: "plinth_app.health", Before: "2026-12-03T10:00:00Z", At: "2026-12-03T10:00:09Z"}
	for _, tc := range []struct {
		db   fakeWrites
		want string
	}{
		{fakeWrites{w: written}, ""},
		{fakeWrites{w: drill.DatabaseWrite{Where: "drill-db", Before: written.Before, At: written.Before}}, "did not reach it"},
		{fakeWrites{w: drill.DatabaseWrite{Where: "drill-db"}}, "no row"},
		{fakeWrites{err: fmt.Errorf("connection refused")}, "connection refused"},
	} {
		v := &drill.WriteVerifier{HTTPS: &drill.HTTPSVerifier{URL: srv.URL, RootCAs: pool, Interval: 10 * time.Millisecond, Timeout: 5 * time.Second}, DB: tc.db}
		at, err := v.Verify(context.Background(), p)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) || v.Reported() != nil {
				t.Errorf("%+v: %v (reported %+v), want an error naming %q", tc.db, err, v.Reported(), tc.want)
			}
			continue
		}
		r := v.Reported()
		if err != nil || at.IsZero() || r == nil || r.DatabaseWrite == nil || *r.DatabaseWrite != written || r.Health.Database != "ok" {
			t.Errorf("verify: %v %v, reported %+v", at, err, r)
		}
	}
}

// OpenEnv: a replica drill's verify also reads the write on the drill database (WriteVerifier over its
// ReplicaSource); a backup drill's verify is the HTTPS write alone (its source does not read the row yet).
func TestOpenEnvVerifiesTheWriteOnAReplicaDrill(t *testing.T) {
	db := &drill.MariaDBReplica{Where: "drill-db"}
	for _, tc := range []struct {
		source string
		want   string
	}{{drill.SourceReplica, "*drill.WriteVerifier"}, {drill.SourceBackup, "*drill.HTTPSVerifier"}} {
		p := drill.Plan{ID: "drill-20261203T030000Z", Source: tc.source}
		env, closeEnv, err := drill.OpenEnv(context.Background(), p, drill.EnvConfig{DrillDatabase: db, DrillURL: "https://drill.example"})
		if err != nil {
			t.Fatal(err)
		}
		closeEnv()
		if got := fmt.Sprintf("%T", env.Verify); got != tc.want {
			t.Errorf("%s drill verifies with %s, want %s", tc.source, got, tc.want)
		}
		if wv, ok := env.Verify.(*drill.WriteVerifier); ok && any(wv.DB) != any(env.Data) {
			t.Errorf("the write is read from %v, not the data source %v", wv.DB, env.Data)
		}
	}
}
