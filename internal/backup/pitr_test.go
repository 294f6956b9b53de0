package backup_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// nextSecond sleeps into the next wall-clock second (binlog timestamps have second precision).
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
}

// Issue 14 item 2: a restore to a chosen second (and to a GTID) of a second server matches the checksum
// taken at that second on the source, with writes before and after it streamed as binlog.
func TestPointInTimeRestore(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS pitr2", "CREATE DATABASE pitr2",
		"CREATE TABLE pitr2.acct (id INT PRIMARY KEY, balance BIGINT, note VARCHAR(40))")
	d := srv.Open(t, "pitr2")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := 0; i < 50; i++ {
		exec("INSERT INTO acct VALUES (?, ?, 'seed')", i, 100)
	}
	st, k := memStore(t), newKeys(t)
	runBackup(t, st, k, "pitr2", time.Now().Add(-time.Minute))
	s := startStreamer(t, st, k, 64<<10)
	for i := 0; i < 200; i++ {
		exec("UPDATE acct SET balance = balance + ?, note = 'before' WHERE id = ?", i, i%50)
	}
	exec("INSERT INTO acct VALUES (1000, 1, 'new before')")
	nextSecond()
	target := time.Now().Add(-time.Second).Truncate(time.Second) // every write above committed at or before it
	targetGTID := gtidPos(t)
	want := tableChecksum(t, d, "pitr2.acct")
	nextSecond()
	for i := 0; i < 100; i++ {
		exec("UPDATE acct SET balance = 0, note = 'after' WHERE id = ?", i%50)
	}
	exec("DELETE FROM acct WHERE id < 10")
	if final := tableChecksum(t, d, "pitr2.acct"); final == want {
		t.Fatalf("the writes after the target left the checksum at %s: the test could not tell a replay that stopped", want)
	}
	waitCovered(t, st, s)
	s.stop(t)

	other := mysqltest.New(t)
	od := other.Open(t, "")
	replay := func(ctx context.Context, files []string, o mysqlx.ReplayOptions) error {
		return mysqlx.ReplayBinlog(ctx, od, files, o)
	}
	checksum := func(db string) string { return tableChecksum(t, od, db+".acct") }
	rep, err := backup.RestoreToPoint(ctx, backup.PITROptions{ToTime: target, Replay: replay, TempDir: t.TempDir(),
		Restore: backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Workers: 2}})
	if err != nil {
		t.Fatalf("restore to %s: %v", target, err)
	}
	if got := checksum("pitr2"); got != want {
		t.Fatalf("restored to %s (%d segments): checksum %s, the source had %s then", target, rep.Segments, got, want)
	}

	// To a GTID, under another name.
	if _, err := backup.RestoreToPoint(ctx, backup.PITROptions{ToGTID: targetGTID, Replay: replay, TempDir: t.TempDir(),
		Restore: backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Workers: 2, Rename: map[string]string{"pitr2": "pitr2_g"}}}); err != nil {
		t.Fatalf("restore to GTID %s: %v", targetGTID, err)
	}
	if got := checksum("pitr2_g"); got != want {
		t.Fatalf("restored to GTID %s: checksum %s, want %s", targetGTID, got, want)
	}

	// A target after the newest streamed transaction is refused before anything is restored.
	if _, err := backup.RestoreToPoint(ctx, backup.PITROptions{ToTime: time.Now().Add(time.Hour), Replay: replay,
		Restore: backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Rename: map[string]string{"pitr2": "pitr2_late"}}}); err == nil {
		t.Fatal("a restore past the streamed binlog was accepted")
	}
}

func tableChecksum(t *testing.T, d *sql.DB, table string) string {
	t.Helper()
	return mysqltest.Checksum(t, d, table)
}
