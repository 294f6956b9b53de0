package backup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// The commands of point-in-time recovery end to end: `backup binlog` streams while the application writes,
// is stopped; `verify` reports the chain; `restore --to-time` into another server matches the source's
// checksum at that second.
func TestBinlogAndRestoreToTimeCommands(t *testing.T) {
	e := newEnv(t)
	e.now = time.Now().Add(-time.Minute).UTC()
	if _, errOut, err := e.exec("run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "-d", "app", "-q"); err != nil {
		t.Fatalf("run: %v %s", err, errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := e.execCtx(ctx, "binlog", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "--segment-age", "1s", "-q")
		done <- err
	}()
	d := e.srv.Open(t, "app")
	for i := 10; i < 60; i++ {
		if _, err := d.Exec("INSERT INTO t VALUES (?, 'before')", i); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	at := time.Now().Add(-time.Second).UTC().Truncate(time.Second)
	want := mysqltest.Checksum(t, d, "t")
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if _, err := d.Exec("DELETE FROM t WHERE id > 20"); err != nil {
		t.Fatal(err)
	}
	var pos string
	if err := d.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	st, err := blobstore.Open(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// covered waits until a committed segment holds GTID position pos.
	covered := func(pos string) []manifest.Segment {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			segs, err := backup.ListSegments(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(segs); n > 0 {
				if ok, _ := mysqlx.GTIDContains("mariadb", segs[n-1].To, pos); ok {
					return segs
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("segments never reached %s: %+v", pos, segs)
			}
		}
	}
	covered(pos)
	// Two more transactions after the target, each waited for: a committed segment is never reopened, so
	// each lands in a later one and the chain has at least three segments (the gap check below).
	var segs []manifest.Segment
	for i := 100; i < 102; i++ {
		if _, err := d.Exec("INSERT INTO t VALUES (?, 'after')", i); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
			t.Fatal(err)
		}
		segs = covered(pos)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("binlog: %v", err)
	}

	out, _, err := e.exec("verify", "latest", "--store", e.store, "--identity", e.identity)
	if err != nil || !strings.Contains(out, "binlog chain from the snapshot") || !strings.Contains(out, "no gap") || strings.Contains(out, "not available") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	other := mysqltest.New(t)
	out, errOut, err := e.exec("restore", "--to-time", at.Format("2006-01-02 15:04:05"), "--store", e.store, "--identity", e.identity,
		"--dsn", other.DSN(""), "-q")
	if err != nil || !strings.Contains(out, "replayed") {
		t.Fatalf("restore --to-time: %v\n%s\n%s", err, out, errOut)
	}
	if got := mysqltest.Checksum(t, other.Open(t, ""), "app.t"); got != want {
		t.Fatalf("checksum at %s: %s, the source had %s", at, got, want)
	}
	// Usage errors.
	for _, args := range [][]string{
		{"restore", "latest", "--to-time", "2026-01-01 00:00:00", "--store", e.store, "--identity", e.identity},
		{"restore", "--to-time", "yesterday", "--store", e.store, "--identity", e.identity},
		{"binlog", "--store", e.store},
	} {
		if _, _, err := e.exec(args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}

	// A lost segment is a gap in the chain: `verify` fails (exit 1) naming the missing segment, and says
	// the backup itself is intact.
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments for the gap check, have %+v", segs)
	}
	lost := segs[1].Seq
	if err := st.Delete(context.Background(), manifest.BinlogDir+"/"+manifest.SegmentIndexName(lost)); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = e.exec("verify", "latest", "--store", e.store, "--identity", e.identity)
	if code := cmdutil.ExitCodeOf(err); code != 1 || !strings.Contains(err.Error(), "is intact, but its binlog chain is not") ||
		!strings.Contains(err.Error(), fmt.Sprintf("segments %d to %d missing", lost, lost)) {
		t.Fatalf("verify with segment %d lost: exit %d, %v\n%s\n%s", lost, code, err, out, errOut)
	}
}
