package drill

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// TestRealDrillFromBackup runs `plinth drill --source backup -o json` against a real MariaDB (primary and
// DR server in one: the restore lands under drill names) and a file:// vault: preflight, t0 and data run
// for real, platform fails naming what is missing, teardown drops the restored database, the JSON report
// is the one object on stdout and lands in the history.
func TestRealDrillFromBackup(t *testing.T) {
	ctx := context.Background()
	srv, storeURL, identity := backupFixture(t)
	f, _ := factory(t)
	f.Now = time.Now
	out, err := run(t, f, "--stack", "production", "--source", "backup", "--primary-dsn", srv.DSN(""), "--store", storeURL,
		"--identity", identity, "--dr-dsn", srv.DSN(""), "-q", "-o", "json")
	if err == nil || !errors.Is(err, drill.ErrUnavailable) || !strings.Contains(err.Error(), "step platform") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	rep := jsonReport(t, out, "preflight=ok t0=ok data=ok platform=failed deploy=skipped verify=skipped report=skipped teardown=ok")
	if rep.Source != "backup" || rep.RPOSeconds == nil || *rep.RPOSeconds <= 0 || rep.RTOSeconds != nil || rep.Verdict != drill.VerdictIncomplete || rep.LeftBehind != 0 {
		t.Errorf("report %+v", rep)
	}
	var n int
	if err := srv.Open(t, "").QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'billing\\_drill%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("restored drill databases left: %d %v", n, err)
	}
	st, err := blobstore.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if hist, err := (drill.History{Store: st}).List(ctx); err != nil || len(hist) != 1 || hist[0].ID != rep.ID {
		t.Errorf("history %+v %v", hist, err)
	}
}

func TestTeardownCommandIsIdempotent(t *testing.T) {
	srv := mysqltest.New(t)
	id := "drill-20261202T120000Z"
	srv.Exec(t, "CREATE DATABASE shop"+drill.DrillSuffix(id), "CREATE DATABASE crm"+drill.DrillSuffix(id), "CREATE DATABASE shop")
	f, _ := factory(t)
	for i := 0; i < 2; i++ {
		io, _, out, _ := iostreams.Test()
		f.IOStreams = io
		cmd := NewCmdTeardown(f, nil)
		cmd.SetArgs([]string{id, "--dr-dsn", srv.DSN(""), "-o", "json"})
		if err := cmd.Execute(); err != nil {
			t.Fatalf("teardown %d: %v", i, err)
		}
		var res drill.TeardownResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Left) != 0 || len(res.NotChecked) != 1 {
			t.Errorf("teardown %d: %+v %v", i, res, err)
		}
	}
	var n int
	if err := srv.Open(t, "").QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name IN ('shop', 'shop_drill20261202t120000z', 'crm_drill20261202t120000z')").Scan(&n); err != nil || n != 1 {
		t.Errorf("want only shop left: %d %v", n, err)
	}
}

// backupFixture is a real MariaDB holding billing, with one verified backup of it in a file:// vault, and
// the restore identity.
func backupFixture(t *testing.T) (*mysqltest.Server, string, string) {
	t.Helper()
	srv := mysqltest.New(t)
	ctx := context.Background()
	srv.Exec(t, "CREATE DATABASE billing", "CREATE TABLE billing.invoices (id INT PRIMARY KEY, total DECIMAL(10,2))",
		"INSERT INTO billing.invoices VALUES (1, 9.5), (2, 12.25), (3, 0)")
	dir := t.TempDir()
	kp, err := backup.WriteNewIdentity(filepath.Join(dir, "restore.age"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := backup.ParseRecipients([]string{kp.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := backup.ReadIdentityFile(kp.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	storeURL := "file://" + filepath.Join(dir, "vault")
	st, err := blobstore.Open(ctx, storeURL+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.Run(ctx, backup.RunOptions{DB: srv.Open(t, ""), Address: srv.Addr(), Store: st, Recipients: rcpt, Databases: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: ids, Mark: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return srv, storeURL, kp.IdentityFile
}

// stackEngine is a drill.StackEngine that records what the platform step asked of the engine.
type stackEngine struct {
	ups, destroys []string
	config        map[string]string
}

func (e *stackEngine) Up(_ context.Context, stack string, cfg map[string]string) (map[string]any, error) {
	e.ups, e.config = append(e.ups, stack), cfg
	return map[string]any{"inventory": map[string]any{"stack": stack, "loadBalancer": map[string]any{"dnsName": "drill.invalid"}}}, nil
}

func (e *stackEngine) Destroy(_ context.Context, stack string) error {
	e.destroys = append(e.destroys, stack)
	return nil
}

func (e *stackEngine) Resources(context.Context, string) ([]string, error) { return nil, nil }

// TestDrillBuildsTheDrillStack: with the Factory's DrillPlatform the platform step builds the drill stack
// from production's config on the database the data step restored (its endpoint in plinth:drill), the
// deploy step is what stops the drill (not available yet), and teardown destroys the drill stack.
func TestDrillBuildsTheDrillStack(t *testing.T) {
	srv, storeURL, identity := backupFixture(t)
	eng := &stackEngine{}
	net := drillNetwork()
	f, _ := factory(t)
	f.Now = time.Now
	f.DrillPlatform = func(_ context.Context, stack string) (*drill.StackPlatform, error) {
		return &drill.StackPlatform{Engine: eng, Source: stack, Network: net,
			Config: map[string]string{environments.ConfigKey: `{"environment":"production"}`}}, nil
	}
	out, err := run(t, f, "--stack", "production", "--source", "backup", "--primary-dsn", srv.DSN(""), "--store", storeURL,
		"--identity", identity, "--dr-dsn", srv.DSN(""), "-q", "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "step deploy") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	rep := jsonReport(t, out, "preflight=ok t0=ok data=ok platform=ok deploy=failed verify=skipped report=skipped teardown=ok")
	stack := "production-" + rep.ID
	if len(eng.ups) != 1 || eng.ups[0] != stack || len(eng.destroys) != 1 || eng.destroys[0] != stack {
		t.Errorf("engine: up %v destroy %v, want %s once each", eng.ups, eng.destroys, stack)
	}
	d, err := environments.ParseDrill(eng.config[environments.DrillConfigKey])
	if err != nil || d.DatabaseEndpoint != srv.Addr() || d.ID != rep.ID {
		t.Errorf("the drill stack's config: %+v %v (database %s)", d, err, srv.Addr())
	}
}

// jsonReport decodes the one JSON report stdout holds and checks its steps' statuses, in order.
func jsonReport(t *testing.T, out, steps string) drill.Report {
	t.Helper()
	var rep drill.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, out)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+"="+s.Status)
	}
	if strings.Join(got, " ") != steps {
		t.Errorf("steps %v, want %s", got, steps)
	}
	return rep
}
