package drill_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// restoreServer is a DrillDatabase made empty for a backup drill, as the live local cloud makes drill-db: it
// records the order of the calls and what the restore had written when Promote came.
type restoreServer struct {
	db       *sql.DB
	fail     error
	calls    []string
	accounts int // ledger.accounts' rows when Promote ran
}

func (r *restoreServer) Create(_ context.Context, id string) (*sql.DB, string, error) {
	r.calls = append(r.calls, "create "+id)
	if r.fail != nil {
		return nil, "drill database of " + id, r.fail
	}
	return r.db, "drill database 10.31.135.254:3306", nil
}

func (r *restoreServer) Promote(ctx context.Context, id string) error {
	r.calls = append(r.calls, "promote "+id)
	return r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger.accounts").Scan(&r.accounts)
}

func (r *restoreServer) Endpoint(string) string { return "10.31.135.254:3306" }

func (r *restoreServer) Teardown(ctx context.Context, id string) ([]string, error) {
	r.calls = append(r.calls, "teardown "+id)
	_, err := r.db.ExecContext(ctx, "DROP DATABASE IF EXISTS ledger")
	return nil, err
}

// readOnly is a vault as its restore identity sees it: reads and lists, no writes.
type readOnly struct{ backup.Store }

func (readOnly) Create(context.Context, string) (blobstore.Writer, error) {
	return nil, errors.New("403: the restore identity may only read")
}

// TestBackupIntoTheDrillsOwnServer: with no DR server DSN, OpenEnv restores a backup drill into the drill
// database the stack's cloud creates (a second real MariaDB, emptied): the databases keep their names (the
// application finds its schema), every table is checked against the manifest, Promote runs after the
// restore (the cloud creates the application user then), the recovered endpoint is the server's in-VPC
// address (not the DSN plinth reached it by), and the server is in the teardown. Without a restore identity
// the data step is unavailable but the server is still torn down.
func TestBackupIntoTheDrillsOwnServer(t *testing.T) {
	ctx := context.Background()
	pdb, drdb := open(t, primary), open(t, replica)
	exec(t, drdb, "STOP SLAVE", "RESET SLAVE ALL", "DROP DATABASE IF EXISTS ledger")
	exec(t, pdb, "DROP DATABASE IF EXISTS ledger", "CREATE DATABASE ledger",
		"CREATE TABLE ledger.accounts (id INT PRIMARY KEY, owner VARCHAR(40) NOT NULL, balance DECIMAL(12,2))",
		"INSERT INTO ledger.accounts SELECT seq, CONCAT('owner', seq), seq * 2.5 FROM ledger.seq_1_to_300")
	dir := t.TempDir()
	storeURL := "file://" + filepath.Join(dir, "vault")
	if err := os.Mkdir(filepath.Join(dir, "vault"), 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "restore.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcpt, err := backup.ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := backup.ReadIdentityFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, false)
	p.Source = drill.SourceBackup
	srv := &restoreServer{db: drdb}
	env, closeEnv, err := drill.OpenEnv(ctx, p, drill.EnvConfig{StoreURL: storeURL, IdentityFile: keyFile, DrillDatabase: srv,
		DrillURL: "https://drill.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	src, ok := env.Data.(*drill.BackupSource)
	if !ok || src.Server != srv || !slices.Contains(env.Teardown, drill.TearDowner(srv)) {
		t.Fatalf("data %T, teardown %v: want the backup source on the cloud's server, torn down", env.Data, env.Teardown)
	}
	// The application uses the drill's own server: the verify step finds its write there.
	if wv, ok := env.Verify.(*drill.WriteVerifier); !ok || any(wv.DB) != any(src) {
		t.Fatalf("a backup drill into its own server verifies with %T, want the write read from the backup source", env.Verify)
	}
	exec(t, drdb, "DROP DATABASE IF EXISTS "+userdata.AppSchema)
	vault := src.Store
	m, err := backup.Run(ctx, backup.RunOptions{DB: pdb, Address: primary.Addr(), Store: vault, Recipients: rcpt, Databases: []string{"ledger"}})
	if err != nil {
		t.Fatal(err)
	}
	// As on a cloud's vault: the restore identity reads and may not write; the marker goes through the
	// writer (MarkStore). Without it the verification passes unmarked, and no drill picks the backup.
	var logged []string
	logf := func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	rep, err := backup.Verify(ctx, backup.VerifyOptions{Store: readOnly{vault}, ID: m.ID, Identities: ids, Mark: true, Log: logf})
	if err != nil || rep.Marked || len(logged) != 1 || !strings.Contains(logged[0], "marker could not be written") {
		t.Fatalf("verify as the restore identity alone: %v, marked %v, log %q", err, rep != nil && rep.Marked, logged)
	}
	if _, err := drill.Pick(ctx, vault, ""); err == nil {
		t.Fatal("an unmarked backup picked as verified")
	}
	rep, err = backup.Verify(ctx, backup.VerifyOptions{Store: readOnly{vault}, MarkStore: vault, ID: m.ID, Identities: ids, Mark: true})
	if err != nil || !rep.Marked {
		t.Fatalf("verify with the writer's MarkStore: %v, marked %v", err, rep != nil && rep.Marked)
	}
	var vrep backup.VerifyReport
	src.Restored = &vrep
	t0 := drill.T0{Seq: 3, At: time.Now().Add(2 * time.Minute), GTID: "0-1-999999"}
	rec, err := src.Recover(ctx, p, t0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := drdb.QueryRow("SELECT COUNT(*) FROM ledger.accounts").Scan(&n); err != nil || n != 300 {
		t.Errorf("ledger.accounts on the drill's server: %d rows, %v (want 300 under its own name)", n, err)
	}
	if !vrep.RestoreChecked || len(vrep.Tables) != 1 || !vrep.Tables[0].OK || vrep.Tables[0].RestoredHash != vrep.Tables[0].Hash {
		t.Errorf("restore check: %+v", vrep)
	}
	if got := strings.Join(srv.calls, ", "); got != "create "+p.ID+", promote "+p.ID || srv.accounts != 300 {
		t.Errorf("calls %q, accounts at promote %d: want create, then promote after the restore", got, srv.accounts)
	}
	if rec.Endpoint != "10.31.135.254:3306" || !strings.Contains(rec.Where, "10.31.135.254:3306 (ledger)") ||
		rec.RPO.Loss < 2*time.Minute || rec.RPO.LostBeats != 3 {
		t.Errorf("recovered %+v", rec)
	}
	// The application's write: none restored (the backup holds no health row), so not yet; then the drill
	// application writes its row on the server, and that is the write.
	if w, err := src.AppWrite(ctx, p); err != nil || w.Check() == nil {
		t.Errorf("before the application wrote: %+v %v: want no write", w, err)
	}
	if err := mysqlx.GrantAppUser(ctx, drdb, "plinth_app", "drill-app-password-0123", userdata.AppSchema); err != nil {
		t.Fatal(err)
	}
	exec(t, drdb, "INSERT INTO "+userdata.AppSchema+"."+mysqlx.AppHealthTable+" VALUES (1, '"+time.Now().UTC().Format(time.RFC3339Nano)+"')")
	if w, err := src.AppWrite(ctx, p); err != nil || w.Check() != nil || w.Where != "drill database 10.31.135.254:3306" {
		t.Errorf("after the application wrote: %+v %v (check %v)", w, err, w.Check())
	}
	exec(t, drdb, "DROP DATABASE "+userdata.AppSchema, "DROP USER IF EXISTS plinth_app")
	left, err := drill.Teardown(ctx, p.ID, env.Teardown)
	if err != nil || len(left) != 0 {
		t.Errorf("teardown: left %v, %v", left, err)
	}

	// The cloud cannot make the server: the step fails naming it and the backup.
	srv2 := &restoreServer{db: drdb, fail: errors.New("DR subnet 10.31.135.0/24 is full")}
	src.Server = srv2
	if _, err := src.Recover(ctx, p, t0); err == nil || !strings.Contains(err.Error(), "DR subnet") || !strings.Contains(err.Error(), m.ID) {
		t.Errorf("create failing: %v", err)
	}

	// No restore identity: no data source, the server still torn down.
	env, closeEnv2, err := drill.OpenEnv(ctx, p, drill.EnvConfig{StoreURL: storeURL, DrillDatabase: srv})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv2()
	if env.Data != nil || !slices.Contains(env.Teardown, drill.TearDowner(srv)) {
		t.Errorf("without an identity: data %v, teardown %v", env.Data, env.Teardown)
	}
	// A DR server DSN given wins: the cloud's server is not used.
	env, closeEnv3, err := drill.OpenEnv(ctx, p, drill.EnvConfig{StoreURL: storeURL, IdentityFile: keyFile, DrillDatabase: srv,
		DRDSN: replica.DSN(""), DrillURL: "https://drill.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv3()
	if b, ok := env.Data.(*drill.BackupSource); !ok || b.Server != nil || slices.Contains(env.Teardown, drill.TearDowner(srv)) {
		t.Errorf("with a DR DSN: data %+v, teardown %v", env.Data, env.Teardown)
	}
	// Restored under drill names on a shared server the application does not use: the HTTPS answer only.
	if _, ok := env.Verify.(*drill.HTTPSVerifier); !ok {
		t.Errorf("with a DR DSN the verify is %T, want the HTTPS answer alone", env.Verify)
	}
}
