package drill_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// primary and replica are two real MariaDB servers with GTID replication (replica -> primary); the replica
// logs what it replicates, as production's DR replica does, so a drill database can replicate from it.
var primary, replica *mysqltest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	p, err := mysqltest.Start(ctx, mysqltest.Options{BufferPool: "64M"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r, err := mysqltest.Start(ctx, mysqltest.Options{BufferPool: "64M", Extra: []string{"--server-id=2", "--log-slave-updates"}})
	if err != nil {
		p.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cancel()
	primary, replica = p, r
	code := m.Run()
	r.Stop()
	p.Stop()
	os.Exit(code)
}

func open(t *testing.T, s *mysqltest.Server) *sql.DB {
	t.Helper()
	db := s.Open(t, "")
	return db
}

func exec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// startReplication points the replica at the primary with GTID (slave_pos) and waits until it runs.
func startReplication(t *testing.T, rdb *sql.DB) {
	t.Helper()
	exec(t, rdb, "STOP SLAVE", "RESET SLAVE ALL",
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos",
			primary.Port, mysqltest.User, mysqltest.Password),
		"START SLAVE")
}

// waitGTID waits until the replica has applied the primary's position gtid.
func waitGTID(t *testing.T, rdb *sql.DB, gtid string) {
	t.Helper()
	var res int
	if err := rdb.QueryRow("SELECT MASTER_GTID_WAIT(?, 60)", gtid).Scan(&res); err != nil || res != 0 {
		t.Fatalf("replica did not reach %s: %d %v", gtid, res, err)
	}
}

func TestMeasuredRPOWithRealReplication(t *testing.T) {
	pdb, rdb := open(t, primary), open(t, replica)
	startReplication(t, rdb)
	ctx := context.Background()

	// Caught up: every heartbeat reaches the replica; RPO 0, no transaction missing.
	hb := &drill.Heartbeat{DB: pdb, DrillID: "drill-20261202T170000Z", Interval: 100 * time.Millisecond}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t0, err := hb.MarkT0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if t0.Seq < 4 || t0.GTID == "" {
		t.Fatalf("T0 = %+v: want >= 4 beats (warm-up) and a GTID", t0)
	}
	waitGTID(t, rdb, t0.GTID)
	rpo, err := drill.MeasureRPO(ctx, rdb, hb.DrillID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rpo.Loss != 0 || rpo.LostBeats != 0 || rpo.GTIDBehind != 0 || !rpo.Consistent {
		t.Errorf("caught-up replica: %+v", rpo)
	}
	// Positions in MariaDB's own notation: domain-server-seq, the primary's server id 1.
	if !regexp.MustCompile(`^0-1-[0-9]+$`).MatchString(t0.GTID) || rpo.PrimaryGTID != t0.GTID ||
		!regexp.MustCompile(`^0-[0-9]+-[0-9]+$`).MatchString(rpo.RecoveredGTID) {
		t.Errorf("T0 %q, primary %q, recovered %q: want domain-server-seq", t0.GTID, rpo.PrimaryGTID, rpo.RecoveredGTID)
	}

	// Lagging: the replica's IO thread stops; the beats written after it are lost and the GTIDs say so.
	hb2 := &drill.Heartbeat{DB: pdb, DrillID: "drill-20261202T170100Z", Interval: 100 * time.Millisecond}
	if err := hb2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var pos string
	if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	waitGTID(t, rdb, pos)
	exec(t, rdb, "STOP SLAVE IO_THREAD")
	time.Sleep(time.Second)
	t0, err = hb2.MarkT0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rpo, err = drill.MeasureRPO(ctx, rdb, hb2.DrillID, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The replica holds beats up to `last`; read its time back from the primary to check the arithmetic.
	var lastSeq int64
	var lastUS int64
	if err := rdb.QueryRow("SELECT seq, at_us FROM plinth_drill.heartbeat WHERE drill_id = ? ORDER BY seq DESC LIMIT 1", hb2.DrillID).Scan(&lastSeq, &lastUS); err != nil {
		t.Fatal(err)
	}
	lastAt := time.UnixMicro(lastUS)
	t.Logf("lagging replica: RPO %s, %d beats lost, %d transactions behind (T0 %s, primary %s, recovered %s)",
		rpo.Loss, rpo.LostBeats, rpo.GTIDBehind, t0.At.Format(time.RFC3339Nano), rpo.PrimaryGTID, rpo.RecoveredGTID)
	if rpo.LostBeats < 2 || rpo.LostBeats != t0.Seq-lastSeq {
		t.Errorf("lost beats %d, want >= 2 and T0 seq %d - recovered seq %d", rpo.LostBeats, t0.Seq, lastSeq)
	}
	if want := t0.At.Sub(lastAt.UTC()); rpo.Loss != want || rpo.Loss < 200*time.Millisecond {
		t.Errorf("RPO %s, want T0 - last recovered = %s (>= 200ms)", rpo.Loss, want)
	}
	if rpo.GTIDBehind < uint64(rpo.LostBeats) || !rpo.Consistent {
		t.Errorf("GTIDs: %d behind for %d lost beats, consistent %v", rpo.GTIDBehind, rpo.LostBeats, rpo.Consistent)
	}
	// Replication resumes and catches up: the replica then holds T0.
	exec(t, rdb, "START SLAVE IO_THREAD")
	waitGTID(t, rdb, t0.GTID)
	if rpo, err = drill.MeasureRPO(ctx, rdb, hb2.DrillID, t0); err != nil || rpo.LostBeats != 0 || rpo.GTIDBehind != 0 {
		t.Errorf("after catching up: %+v %v", rpo, err)
	}
	exec(t, rdb, "STOP SLAVE")

	// A server that never saw the drill's heartbeats is an error naming the drill.
	if _, err := drill.MeasureRPO(ctx, rdb, "drill-20990101T000000Z", t0); err == nil {
		t.Error("no heartbeat: want an error")
	}
}

// TestMarkT0ReadsTheFlavorsVariable: T0 reads the variable of the primary's flavor; a flavor the wiring
// gets wrong fails naming the server and the variable (MySQL's gtid_executed does not exist on MariaDB).
func TestMarkT0ReadsTheFlavorsVariable(t *testing.T) {
	ctx := context.Background()
	hb := &drill.Heartbeat{DB: open(t, primary), DrillID: "drill-20261203T100000Z", Interval: 50 * time.Millisecond, Flavor: "mysql"}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := hb.MarkT0(ctx)
	if err == nil || !strings.Contains(err.Error(), "primary") || !strings.Contains(err.Error(), "gtid_executed") {
		t.Fatalf("MarkT0 as mysql on mariadb: %v, want an error naming the primary and gtid_executed", err)
	}
	hb.Flavor = "mariadb"
	t0, err := hb.MarkT0(ctx)
	if err != nil || !strings.HasPrefix(t0.GTID, "0-1-") {
		t.Fatalf("MarkT0 as mariadb: %+v, %v", t0, err)
	}
}
