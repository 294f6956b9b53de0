package backup_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
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
	want := mysqltest.Checksum(t, d, "pitr2.acct")
	nextSecond()
	for i := 0; i < 100; i++ {
		exec("UPDATE acct SET balance = 0, note = 'after' WHERE id = ?", i%50)
	}
	exec("DELETE FROM acct WHERE id < 10")
	if final := mysqltest.Checksum(t, d, "pitr2.acct"); final == want {
		t.Fatalf("the writes after the target left the checksum at %s: the test could not tell a replay that stopped", want)
	}
	waitCovered(t, st, s)
	s.stop(t)

	other := mysqltest.New(t)
	od := other.Open(t, "")
	replay := func(ctx context.Context, files []string, o mysqlx.ReplayOptions) error {
		return mysqlx.ReplayBinlog(ctx, od, files, o)
	}
	checksum := func(db string) string { return mysqltest.Checksum(t, od, db+".acct") }
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

	// A target whose user may not replay is refused before anything is restored.
	_, err = backup.RestoreToPoint(ctx, backup.PITROptions{ToTime: target, Replay: replay, TempDir: t.TempDir(),
		CheckReplay: func(context.Context) error { return errors.New("no BINLOG REPLAY") },
		Restore:     backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Rename: map[string]string{"pitr2": "pitr2_refused"}}})
	if err == nil || !strings.Contains(err.Error(), "nothing restored: no BINLOG REPLAY") {
		t.Fatalf("restore by a user who cannot replay: %v", err)
	}
	if n := scalar(t, od, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'pitr2_refused'"); n != "0" {
		t.Fatal("the refused restore created its database")
	}

	// A target after the newest streamed transaction is refused before anything is restored.
	if _, err := backup.RestoreToPoint(ctx, backup.PITROptions{ToTime: time.Now().Add(time.Hour), Replay: replay,
		Restore: backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Rename: map[string]string{"pitr2": "pitr2_late"}}}); err == nil {
		t.Fatal("a restore past the streamed binlog was accepted")
	}
}

// Audit gap 2: a backup whose FLUSH TABLES WITH READ LOCK waited (here behind another session's LOCK
// TABLES ... WRITE) started before a target T inside that wait, but its snapshot holds the transactions
// committed after T. The restore to T takes the older backup and replays the binlog up to T: the checksum
// the source had at T. (Going by the backup's start, as before, restored the later data.)
func TestToTimeInsideTheSnapshotLockWait(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS pitrw", "CREATE DATABASE pitrw",
		"CREATE TABLE pitrw.acct (id INT PRIMARY KEY, balance BIGINT)")
	d := srv.Open(t, "pitrw")
	for i := 0; i < 20; i++ {
		if _, err := d.Exec("INSERT INTO acct VALUES (?, 100)", i); err != nil {
			t.Fatal(err)
		}
	}
	st, k := memStore(t), newKeys(t)
	older := runBackup(t, st, k, "pitrw", time.Now().Add(-time.Minute))
	s := startStreamer(t, st, k, 64<<10)

	// One session holds a write lock on the table and keeps writing: the backup below waits for it.
	holder, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	hexec := func(q string, args ...any) {
		t.Helper()
		if _, err := holder.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	hexec("LOCK TABLES acct WRITE")
	type result struct {
		m   *manifest.Manifest
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := backup.Run(ctx, backup.RunOptions{DB: srv.Open(t, ""), DSN: srv.DSN(""), Address: srv.Addr(), Store: st,
			Recipients: k.rcpt, Databases: []string{"pitrw"}, Workers: 2, Tool: "test", Now: time.Now})
		done <- result{m, err}
	}()
	nextSecond()
	hexec("UPDATE acct SET balance = balance + 1 WHERE id < 10") // inside the wait, before T
	nextSecond()
	target := time.Now().Add(-time.Second).Truncate(time.Second)
	var name, want string
	if err := holder.QueryRowContext(ctx, "CHECKSUM TABLE acct").Scan(&name, &want); err != nil {
		t.Fatal(err)
	}
	nextSecond()
	hexec("UPDATE acct SET balance = 0 WHERE id >= 10") // inside the wait, after T
	select {
	case r := <-done:
		t.Fatalf("the backup did not wait for the lock: %v", r.err)
	default:
	}
	hexec("UNLOCK TABLES")
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	blocked := r.m
	if !blocked.StartedAt.Before(target) || !blocked.Snapshot.At.After(target.Add(time.Second)) {
		t.Fatalf("the blocked backup started %v, locked at %v: want T %v between them", blocked.StartedAt, blocked.Snapshot.At, target)
	}
	if final := mysqltest.Checksum(t, d, "pitrw.acct"); final == want {
		t.Fatal("the writes after T left the checksum unchanged")
	}
	waitCovered(t, st, s)
	s.stop(t)

	rep, od := restoreToTimeOnNewServer(t, st, k, target)
	if rep.Restore.ID != older.ID || rep.Snapshot != older.Snapshot.GTID {
		t.Fatalf("restored backup %s (snapshot %s), want the older %s: the blocked one (%s) holds later data", rep.Restore.ID, rep.Snapshot, older.ID, blocked.ID)
	}
	if got := mysqltest.Checksum(t, od, "pitrw.acct"); got != want {
		t.Fatalf("restored to %s: checksum %s, the source had %s then", target, got, want)
	}
}

// restoreToTimeOnNewServer restores the store's backups and binlog to target on a fresh second server.
func restoreToTimeOnNewServer(t *testing.T, st backup.Store, k keys, target time.Time) (*backup.PITRReport, *sql.DB) {
	t.Helper()
	od := mysqltest.New(t).Open(t, "")
	rep, err := backup.RestoreToPoint(context.Background(), backup.PITROptions{ToTime: target, TempDir: t.TempDir(),
		Replay: func(ctx context.Context, files []string, o mysqlx.ReplayOptions) error {
			return mysqlx.ReplayBinlog(ctx, od, files, o)
		},
		CheckReplay: func(ctx context.Context) error { return mysqlx.CheckReplayPrivilege(ctx, od) },
		Restore:     backup.RestoreOptions{Store: st, Identities: k.ids, Target: od, Workers: 2}})
	if err != nil {
		t.Fatalf("restore to %s: %v", target, err)
	}
	return rep, od
}
