package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/rollout/rollouttest"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestDrillDeploysProductionsReleaseFromEscrow runs `plinth drill --source backup -o json` through every
// step with the deploy step real: production (real sshd hosts behind a bastion) was deployed with the deploy
// engine, which kept its artifact in the escrow (an S3 emulator); the preflight reads production's audit and
// finds the release there; the backup is restored on a real MariaDB; the drill stack is "built" by a fake
// engine (the engine path has its own tests) whose hosts are other real sshd hosts; the deploy step fetches the
// release from the escrow, verifies it and rolls it out to them through their bastion; verify reaches the
// drill host's service over HTTPS (a TLS proxy in front of it, standing in for the drill load balancer, with
// the write the test application cannot do done on the DR server: writingHealth); the drill meets its targets
// and exits 0.
func TestDrillDeploysProductionsReleaseFromEscrow(t *testing.T) {
	ctx := context.Background()
	srv, storeURL, identity := backupFixture(t)
	es := rollouttest.StartEscrow(t)
	prod := rollouttest.StartStack(t, "production", map[string]int{"app": 1})
	pc := prod.Connect(t, es.Store)
	v1 := deploytest.Release(t, deploytest.BuildApp(t, "v1", true, 0), "v1")
	if _, err := rollout.Deploy(ctx, pc, rollout.DeployRequest{Tier: "app", Artifact: v1.Artifact, Version: "v1", Holder: "test"}); err != nil {
		t.Fatal(err)
	}
	ds := rollouttest.StartStack(t, "production-drill", map[string]int{"app": 1})
	backend, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(ds.Hosts[0].Port))
	lb := httptest.NewTLSServer(writingHealth(t, httputil.NewSingleHostReverseProxy(backend), srv))
	defer lb.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lb.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	eng := &stackEngine{}
	network := drillNetwork()
	f, _ := factory(t)
	f.Now = time.Now
	f.DrillPlatform = func(_ context.Context, stack string) (*drill.StackPlatform, error) {
		return &drill.StackPlatform{Engine: eng, Source: stack, Network: network,
			Config:  map[string]string{environments.ConfigKey: `{"environment":"production"}`},
			Address: func(context.Context, string, *contract.Inventory) (string, string, error) { return lb.URL, caFile, nil }}, nil
	}
	var connected []string
	f.DrillRelease = func(_ context.Context, stack string) (*drill.EscrowDeployer, func(), error) {
		rel := &drill.ProductionRelease{Stack: stack, Escrow: &rollout.Escrow{Store: es.Store},
			Audit: func(ctx context.Context) ([]deploy.AuditRecord, error) {
				return pc.State.History(ctx, drill.AuditHistory)
			}}
		connect := func(ctx context.Context, req rollout.Request) (*rollout.Conn, error) {
			connected = append(connected, req.Stack)
			return rollout.Connect(ctx, rollout.Deps{Getenv: os.Getenv}, ds.Request())
		}
		return &drill.EscrowDeployer{Release: rel, Connect: connect}, func() {}, nil
	}
	out, err := run(t, f, "--stack", "production", "--source", "backup", "--primary-dsn", srv.DSN(""), "--store", storeURL,
		"--identity", identity, "--dr-dsn", srv.DSN(""), "-q", "-o", "json")
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, out)
	}
	rep := jsonReport(t, out, "preflight=ok t0=ok data=ok platform=ok deploy=ok verify=ok report=ok teardown=ok")
	if len(rep.Releases) != 1 || rep.Releases[0].Tier != "app" || rep.Releases[0].Version != "v1" || rep.Releases[0].SHA256 != v1.SHA256 ||
		rep.Releases[0].Escrow != es.Store.URL(deploy.StoreKey(v1.SHA256)) || rep.Releases[0].Size != v1.Size {
		t.Errorf("report releases %+v", rep.Releases)
	}
	if rep.Verdict != drill.VerdictMet || rep.RTOSeconds == nil || rep.RPOSeconds == nil || rep.LeftBehind != 0 {
		t.Errorf("report %+v", rep)
	}
	if v := rep.Verify; v == nil || v.Health.Database != "ok" || v.Health.Version != "v1" || v.DatabaseWrite != nil {
		t.Errorf("verify %+v: want production's v1 answering a write (a backup drill does not read the row back)", v)
	}
	t.Logf("rto %.3fs rpo %.3fs steps %+v", *rep.RTOSeconds, *rep.RPOSeconds, rep.Steps)
	if len(connected) != 1 || connected[0] != "production-"+rep.ID {
		t.Errorf("the deploy step connected to %v, want the drill stack production-%s", connected, rep.ID)
	}
	if v := deploytest.Health(http.DefaultClient, ds.Hosts[0].Port); v != "v1" {
		t.Errorf("the drill host serves %q, want production's v1", v)
	}
}

// writingHealth is the drill load balancer of a test whose application (deploytest's testapp) has no data
// tier: /health is the drill host's answer with the write the verify step requires done for it, for real, on
// the DR server db ("database": "ok" only when the write committed, its error otherwise, as
// examples/webservice reports it).
func writingHealth(t *testing.T, proxy *httputil.ReverseProxy, db *mysqltest.Server) http.Handler {
	t.Helper()
	conn := db.Open(t, "")
	db.Exec(t, "CREATE DATABASE IF NOT EXISTS plinth_app", "CREATE TABLE IF NOT EXISTS plinth_app.health (id INT PRIMARY KEY, at VARCHAR(40) NOT NULL)")
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/health" || r.StatusCode != http.StatusOK {
			return nil
		}
		body := map[string]string{}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return err
		}
		_ = r.Body.Close()
		_, err := conn.ExecContext(r.Request.Context(), "REPLACE INTO plinth_app.health VALUES (1, ?)", time.Now().UTC().Format(time.RFC3339Nano))
		body["database"], body["databaseRead"] = "ok", "primary"
		if err != nil {
			body["database"], body["status"] = "error: "+err.Error(), "degraded"
		}
		b, _ := json.Marshal(body)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	return proxy
}

// drillNetwork is a DR network as production's inventory exports it.
func drillNetwork() *environments.DrillNetwork {
	return &environments.DrillNetwork{VpcID: "vpc-1", PublicSubnetIDs: []string{"s-1"}, PrivateSubnetIDs: []string{"s-2"},
		SecurityGroups: map[string]string{"lb": "g", "app": "g", "worker": "g", "sftp": "g", "bastion": "g"}}
}
