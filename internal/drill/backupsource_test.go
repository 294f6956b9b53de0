package drill_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/drill"
	"github.com/plinth-dev/plinth/internal/drill/drilltest"
)

func keys(t *testing.T) (backup.Recipients, backup.Identities) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := backup.ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := backup.ParseIdentities(strings.NewReader(id.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return r, ids
}

func fileStore(t *testing.T) *blobstore.Store {
	t.Helper()
	st, err := blobstore.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestBackupSourceRestoresNewestVerified: two backups, only the older verified; the drill restores that one
// from a file:// vault into the DR server (a second real MariaDB) under drill names, checks every table
// against the manifest, measures RPO from the snapshot, then tears the databases down (twice).
func TestBackupSourceRestoresNewestVerified(t *testing.T) {
	ctx := context.Background()
	pdb, drdb := open(t, primary), open(t, replica)
	exec(t, drdb, "STOP SLAVE", "RESET SLAVE ALL")
	exec(t, pdb, "DROP DATABASE IF EXISTS shop", "CREATE DATABASE shop",
		"CREATE TABLE shop.users (id INT PRIMARY KEY, email VARCHAR(80) NOT NULL)",
		"CREATE TABLE shop.orders (id INT PRIMARY KEY, user_id INT NOT NULL, amount DECIMAL(10,2))",
		"INSERT INTO shop.users VALUES (1,'a@x'),(2,'b@x'),(3,'c@x')",
		"INSERT INTO shop.orders SELECT seq, 1 + seq % 3, seq * 1.5 FROM shop.seq_1_to_500")
	st := fileStore(t)
	rcpt, ids := keys(t)
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	take := func(now time.Time) string {
		m, err := backup.Run(ctx, backup.RunOptions{DB: pdb, Address: primary.Addr(), Store: st, Recipients: rcpt,
			Databases: []string{"shop"}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	verified := take(at)
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: verified, Identities: ids, Mark: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, pdb, "INSERT INTO shop.users VALUES (4,'d@x')")
	newer := take(at.Add(time.Hour))
	if e, err := drill.Pick(ctx, st, ""); err != nil || e.ID != verified {
		t.Fatalf("Pick = %s %v, want the verified %s (not the newer unverified %s)", e.ID, err, verified, newer)
	}

	s := plan(t, false)
	s.Source = drill.SourceBackup
	var vrep backup.VerifyReport
	src := &drill.BackupSource{Store: st, Identities: ids, Target: drdb, Where: replica.Addr(), Restored: &vrep}
	t0 := drill.T0{Seq: 5, At: at.Add(3 * time.Hour), GTID: "0-1-999999"}
	rec, err := src.Recover(ctx, s, t0)
	if err != nil {
		t.Fatal(err)
	}
	name := "shop" + drill.DrillSuffix(s.ID)
	var users, orders int
	if err := drdb.QueryRow("SELECT (SELECT COUNT(*) FROM `"+name+"`.users), (SELECT COUNT(*) FROM `"+name+"`.orders)").Scan(&users, &orders); err != nil {
		t.Fatal(err)
	}
	if users != 3 || orders != 500 || !vrep.RestoreChecked || len(vrep.Tables) != 2 {
		t.Errorf("restored users %d orders %d, checked %v tables %d", users, orders, vrep.RestoreChecked, len(vrep.Tables))
	}
	for _, tc := range vrep.Tables {
		if !tc.OK || tc.RestoredHash != tc.Hash {
			t.Errorf("table %s: %+v", tc.Table, tc)
		}
	}
	if rec.RPO.Loss < 3*time.Hour || rec.RPO.LostBeats != 5 || rec.RPO.GTIDBehind == 0 || !rec.RPO.Consistent || !strings.Contains(rec.Where, name) {
		t.Errorf("recovered %+v", rec)
	}

	// A named backup is restored as asked, even unverified; an unknown one is refused.
	s.BackupID = "20990101T000000Z"
	if _, err := src.Recover(ctx, s, t0); err == nil || !strings.Contains(err.Error(), "20990101T000000Z") {
		t.Errorf("unknown backup: %v", err)
	}

	td := drill.DatabaseTeardown{DB: drdb, Where: replica.Addr()}
	for i := 0; i < 2; i++ {
		left, err := td.Teardown(ctx, s.ID)
		if err != nil || len(left) != 0 {
			t.Errorf("teardown %d: left %v err %v", i, left, err)
		}
	}
	var n int
	if err := drdb.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("%s still there: %d %v", name, n, err)
	}
}

// TestDrillWithBackupSourceOnRealServers runs the executor with the real heartbeat and backup source and
// the platform steps unavailable: it fails at platform naming what is missing, and tears the restored
// database down; the report lands in the vault's drill history.
func TestDrillWithBackupSourceOnRealServers(t *testing.T) {
	ctx := context.Background()
	pdb, drdb := open(t, primary), open(t, replica)
	exec(t, pdb, "CREATE DATABASE IF NOT EXISTS crm", "CREATE TABLE IF NOT EXISTS crm.notes (id INT PRIMARY KEY, body TEXT)",
		"REPLACE INTO crm.notes VALUES (1, 'x'), (2, 'y')")
	st := fileStore(t)
	rcpt, ids := keys(t)
	m, err := backup.Run(ctx, backup.RunOptions{DB: pdb, Address: primary.Addr(), Store: st, Recipients: rcpt, Databases: []string{"crm"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: ids, Mark: true}); err != nil {
		t.Fatal(err)
	}
	p := plan(t, false)
	p.Source = drill.SourceBackup
	cloud := drilltest.NewCloud(time.Minute, time.Second)
	env := drill.Env{
		Preflight: cloud,
		Heartbeat: &drill.Heartbeat{DB: pdb, DrillID: p.ID, Interval: 100 * time.Millisecond},
		Data:      &drill.BackupSource{Store: st, Identities: ids, Target: drdb, Where: replica.Addr()},
		Teardown:  []drill.TearDowner{drill.DatabaseTeardown{DB: drdb, Where: replica.Addr()}},
		History:   drill.History{Store: st},
	}
	rep, err := drill.Run(ctx, p, env)
	if err == nil || !strings.Contains(err.Error(), "step platform") || !strings.Contains(err.Error(), "drill-stack builder") {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rep); got != "preflight=ok t0=ok data=ok platform=failed deploy=skipped verify=skipped report=skipped teardown=ok" {
		t.Errorf("steps: %s", got)
	}
	if rep.RPOSeconds == nil || *rep.RPOSeconds <= 0 || rep.RTOSeconds != nil || rep.LeftBehind != 0 || rep.Verdict != drill.VerdictIncomplete {
		t.Errorf("report: rpo %v rto %v left %d verdict %s", rep.RPOSeconds, rep.RTOSeconds, rep.LeftBehind, rep.Verdict)
	}
	hist, err := drill.History{Store: st}.List(ctx)
	if err != nil || len(hist) != 1 || hist[0].ID != p.ID || len(hist[0].Steps) != 8 {
		t.Fatalf("history = %+v %v", hist, err)
	}
	// backup list still sees exactly the one backup: the history does not look like one.
	if es, err := backup.List(ctx, st); err != nil || len(es) != 1 {
		t.Errorf("backup list = %v %v", es, err)
	}
}
