package drill_test

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// drillServer starts an empty MariaDB server for one drill database and returns a MariaDBReplica of the DR
// replica (the package's `replica`) on it, whose Stop stops the server.
func drillServer(t *testing.T, serverID string) (*drill.MariaDBReplica, *atomic.Int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := mysqltest.Start(ctx, mysqltest.Options{BufferPool: "32M", Extra: []string{"--server-id=" + serverID}})
	if err != nil {
		t.Fatal(err)
	}
	var stops atomic.Int32
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	db := open(t, s)
	return &drill.MariaDBReplica{
		Server: db, Where: s.Addr(),
		Source: mysqlx.ReplicationSource{Host: "127.0.0.1", Port: replica.Port, User: mysqltest.User, Password: mysqltest.Password},
		Stop: func(context.Context) error {
			stops.Add(1)
			if !stopped {
				stopped = true
				s.Stop()
			}
			return nil
		},
	}, &stops
}

// markT0 runs drill id's heartbeats on the primary pdb and marks T0.
func markT0(t *testing.T, pdb *sql.DB, id string) drill.T0 {
	t.Helper()
	hb := &drill.Heartbeat{DB: pdb, DrillID: id, Interval: 100 * time.Millisecond}
	if err := hb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t0, err := hb.MarkT0(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return t0
}

func slaveRunning(t *testing.T, db *sql.DB) bool {
	t.Helper()
	st, err := mysqlx.SlaveStatus(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return st != nil && st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes"
}

// The replica source makes a new server from production's DR replica, promotes it at T0 and measures the
// RPO on it; production's DR replica is never touched and keeps replicating.
func TestReplicaSourcePromotesACopyOfTheDRReplica(t *testing.T) {
	pdb, rdb := open(t, primary), open(t, replica)
	startReplication(t, rdb)
	ctx := context.Background()
	exec(t, pdb, "DROP DATABASE IF EXISTS drillsrc", "CREATE DATABASE drillsrc", "CREATE TABLE drillsrc.orders (id INT PRIMARY KEY, total INT)",
		"REPLACE INTO drillsrc.orders VALUES (1, 10), (2, 20), (3, 30)")
	// The application's health row as production's service last wrote it (examples/webservice).
	prodMark := time.Now().UTC().Format(time.RFC3339Nano)
	exec(t, pdb, "DROP DATABASE IF EXISTS plinth_app", "CREATE DATABASE plinth_app", "CREATE TABLE plinth_app.health (id INT PRIMARY KEY, at VARCHAR(40) NOT NULL)",
		"REPLACE INTO plinth_app.health VALUES (1, '"+prodMark+"')")

	m, stops := drillServer(t, "31")
	id := "drill-20261202T200000Z"
	t0 := markT0(t, pdb, id)
	var logs []string
	src := &drill.ReplicaSource{DB: m, CatchUp: time.Minute, Log: func(f string, a ...any) { logs = append(logs, f) }}
	rec, err := src.Recover(ctx, drill.Plan{ID: id}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RPO.Loss != 0 || rec.RPO.LostBeats != 0 || rec.RPO.GTIDBehind != 0 || !rec.RPO.Consistent {
		t.Errorf("caught-up DR replica: RPO %+v", rec.RPO)
	}
	if !strings.Contains(rec.Where, m.Where) || strings.Contains(rec.Where, mysqltest.Password) {
		t.Errorf("where %q: want the drill server, no password", rec.Where)
	}
	// Promoted: not replicating, writable, holds production's data.
	if slaveRunning(t, m.Server) {
		t.Error("drill database still replicates after promotion")
	}
	exec(t, m.Server, "INSERT INTO drillsrc.orders VALUES (4, 40)")
	var n int
	if err := m.Server.QueryRow("SELECT COUNT(*) FROM drillsrc.orders").Scan(&n); err != nil || n != 4 {
		t.Errorf("drill database orders: %d %v, want 3 from production + 1 drill write", n, err)
	}
	// The application's write: the row replicated from production is not one (it is as at the promotion);
	// the drill application's write after the promotion is.
	w, err := src.AppWrite(ctx, drill.Plan{ID: id})
	if err != nil || w.Before != prodMark || w.At != prodMark || w.Table != "plinth_app.health" || !strings.Contains(w.Where, m.Where) {
		t.Errorf("health row at promotion: %+v %v, want production's %s", w, err, prodMark)
	}
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), "did not reach it") {
		t.Errorf("production's replicated row counted as the drill's write: %v", err)
	}
	exec(t, m.Server, "REPLACE INTO plinth_app.health VALUES (1, '"+time.Now().UTC().Format(time.RFC3339Nano)+"')")
	if w, err = src.AppWrite(ctx, drill.Plan{ID: id}); err != nil || w.Check() != nil || w.Before != prodMark {
		t.Errorf("the drill's write: %+v %v %v", w, err, w.Check())
	}
	// Production's DR replica: untouched and still replicating, without the drill's write.
	if !slaveRunning(t, rdb) {
		t.Error("production's DR replica stopped replicating")
	}
	exec(t, pdb, "INSERT INTO drillsrc.orders VALUES (5, 50)")
	var pos string
	if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	waitGTID(t, rdb, pos)
	var ids string
	if err := rdb.QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM drillsrc.orders").Scan(&ids); err != nil || ids != "1,2,3,5" {
		t.Errorf("DR replica orders %q %v: want 1,2,3,5 (production's, not the drill's)", ids, err)
	}
	// Teardown hands the server back and is idempotent.
	for i := 0; i < 2; i++ {
		if left, err := m.Teardown(ctx, id); err != nil || len(left) != 0 {
			t.Errorf("teardown %d: left %v, %v", i, left, err)
		}
	}
	if stops.Load() != 2 {
		t.Errorf("Stop called %d times, want 2", stops.Load())
	}
}

// A DR replica that lags at the disaster: the drill database is promoted after CatchUp with what reached
// the DR region, and the RPO says how much was lost.
func TestReplicaSourceMeasuresTheLossOfALaggingDRReplica(t *testing.T) {
	pdb, rdb := open(t, primary), open(t, replica)
	startReplication(t, rdb)
	ctx := context.Background()
	m, _ := drillServer(t, "32")
	id := "drill-20261202T200100Z"
	hb := &drill.Heartbeat{DB: pdb, DrillID: id, Interval: 100 * time.Millisecond}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var pos string
	if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	waitGTID(t, rdb, pos)
	exec(t, rdb, "STOP SLAVE IO_THREAD") // the link to the primary region breaks
	t.Cleanup(func() { _, _ = rdb.Exec("START SLAVE IO_THREAD") })
	time.Sleep(time.Second)
	t0, err := hb.MarkT0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	src := &drill.ReplicaSource{DB: m, CatchUp: 2 * time.Second, Log: func(f string, a ...any) { logs = append(logs, f) }}
	rec, err := src.Recover(ctx, drill.Plan{ID: id}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RPO.LostBeats < 2 || rec.RPO.Loss < 200*time.Millisecond || rec.RPO.GTIDBehind < uint64(rec.RPO.LostBeats) || !rec.RPO.Consistent {
		t.Errorf("lagging DR replica: RPO %+v: want >= 2 lost beats, >= 200ms, GTIDs consistent", rec.RPO)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "promoted with what it has") {
		t.Errorf("log %q: want the catch-up timeout said", logs)
	}
	t.Logf("lagging DR replica: RPO %s, %d beats lost, %d transactions behind", rec.RPO.Loss, rec.RPO.LostBeats, rec.RPO.GTIDBehind)
}

func TestLiteralQuotesEverythingMySQLEscapes(t *testing.T) {
	if got, want := mysqlx.Literal("a'b\\c\x00\n"), `'a\'b\\c\0\n'`; got != want {
		t.Errorf("Literal = %s, want %s", got, want)
	}
	q := mysqlx.ChangeMasterSQL(mysqlx.ReplicationSource{Host: "10.0.0.5", Port: 3306, User: "repl", Password: "p'w", CAFile: "/ca.pem"})
	for _, want := range []string{`MASTER_PASSWORD='p\'w'`, "MASTER_USE_GTID=slave_pos", "MASTER_SSL=1", "MASTER_SSL_CA='/ca.pem'", "MASTER_SSL_VERIFY_SERVER_CERT=1"} {
		if !strings.Contains(q, want) {
			t.Errorf("%s: want %s", q, want)
		}
	}
}

// The preflight reads the DR replica's link: a replica-source drill refuses a broken one, naming it.
func TestPreflightChecksTheDRReplica(t *testing.T) {
	pdb, rdb := open(t, primary), open(t, replica)
	startReplication(t, rdb)
	ctx := context.Background()
	var pos string
	if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	waitGTID(t, rdb, pos)
	var lag drill.ReplicaLag
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if lag, err = drill.CheckDRReplica(ctx, pdb, rdb); err != nil || lag.Running {
			break // the IO thread reads "Connecting" for a moment after START SLAVE
		}
	}
	if err != nil || !lag.Running || lag.Behind != 0 {
		t.Fatalf("caught-up replica: %+v %v", lag, err)
	}
	p := drill.Plan{ID: "drill-20261202T200200Z", Source: drill.SourceReplica}
	env, closeEnv, err := drill.OpenEnv(ctx, p, drill.EnvConfig{PrimaryDSN: primary.DSN(""), DRReplicaDSN: replica.DSN("")})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	err = env.Preflight.Preflight(ctx, p)
	if err == nil || strings.Contains(err.Error(), "DR replica") || !strings.Contains(err.Error(), "vault") {
		t.Errorf("healthy DR replica, no vault: %v: want only the vault reported", err)
	}

	exec(t, rdb, "STOP SLAVE IO_THREAD")
	t.Cleanup(func() { _, _ = rdb.Exec("START SLAVE IO_THREAD") })
	exec(t, pdb, "CREATE DATABASE IF NOT EXISTS drillsrc", "CREATE TABLE IF NOT EXISTS drillsrc.lagged (id INT PRIMARY KEY)", "REPLACE INTO drillsrc.lagged VALUES (1), (2)")
	lag, err = drill.CheckDRReplica(ctx, pdb, rdb)
	if err != nil || lag.Running || lag.Behind < 1 {
		t.Fatalf("stopped replica: %+v %v: want not running and behind", lag, err)
	}
	err = env.Preflight.Preflight(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "production's DR replica is not replicating") {
		t.Errorf("broken link: %v: want the DR replica named", err)
	}
}

// No vault configured: a backup-source preflight says so (it once held a typed nil store and went on).
func TestPreflightWithoutAVaultSaysSo(t *testing.T) {
	ctx := context.Background()
	p := drill.Plan{ID: "drill-20261202T200300Z", Source: drill.SourceBackup}
	env, closeEnv, err := drill.OpenEnv(ctx, p, drill.EnvConfig{PrimaryDSN: primary.DSN("")})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnv()
	if err := env.Preflight.Preflight(ctx, p); err == nil || !strings.Contains(err.Error(), "the vault: no store URL") {
		t.Errorf("preflight without a vault: %v", err)
	}
}
