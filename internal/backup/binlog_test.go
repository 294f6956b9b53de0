package backup_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// streamer runs StreamBinlog in the background until stop is called.
type streamer struct {
	cancel context.CancelFunc
	done   chan error
}

func startStreamer(t *testing.T, st backup.Store, k keys, segBytes int64) *streamer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &streamer{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- backup.StreamBinlog(ctx, backup.BinlogOptions{Store: st, Recipients: k.rcpt, Flavor: "mariadb",
			SegmentBytes: segBytes, SegmentAge: 500 * time.Millisecond,
			Open: func(from string) (backup.BinlogSource, error) {
				return mysqlx.OpenBinlogStream(srv.DSN(""), "mariadb", 4242, from, nil)
			}})
	}()
	return s
}

func (s *streamer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("streamer: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("streamer did not stop")
	}
}

func gtidPos(t *testing.T) string {
	return scalar(t, srv.Open(t, ""), "SELECT @@gtid_binlog_pos")
}

// waitCovered waits until the segments reach the server's current GTID position.
func waitCovered(t *testing.T, st backup.Store, s *streamer) []manifest.Segment {
	t.Helper()
	want := gtidPos(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		segs, err := backup.ListSegments(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(segs); n > 0 {
			if ok, _ := mysqlx.GTIDContains("mariadb", segs[n-1].To, want); ok {
				return segs
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("streamer ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments do not reach GTID %s: %+v", want, segs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func seqOf(t *testing.T, gtid string) int64 {
	f := strings.Split(gtid, "-")
	n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("gtid %q: %v", gtid, err)
	}
	return n
}

// Issue 14 item 2 (streaming part): the binlog is streamed into encrypted segments from the newest
// snapshot; a streamer stopped (mid-segment) and restarted resumes from the last segment's GTID set
// without losing or duplicating a transaction; verify reads the chain and reports a gap.
func TestBinlogStreamResumesWithoutLossOrDuplication(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS pitr", "CREATE DATABASE pitr", "CREATE TABLE pitr.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "pitr", clock)
	d := srv.Open(t, "pitr")
	write := func(n int, tag string) {
		for i := 0; i < n; i++ {
			if _, err := d.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprintf("%s %d", tag, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := startStreamer(t, st, k, 4<<10)
	write(150, "first")
	tx, _ := d.Begin()
	tx.Exec("INSERT INTO t (v) VALUES ('in trx 1')")
	tx.Exec("UPDATE t SET v = CONCAT(v, '!') WHERE id < 10")
	tx.Commit()
	waitCovered(t, st, s)
	write(40, "racing the stop") // some of these land in a segment that the stop abandons
	s.stop(t)
	write(100, "while stopped")
	s = startStreamer(t, st, k, 4<<10)
	segs := waitCovered(t, st, s)
	s.stop(t)

	if gaps := manifest.ChainGaps(segs); len(gaps) > 0 {
		t.Fatalf("gaps: %v", gaps)
	}
	if segs[0].From != m.Snapshot.GTID {
		t.Fatalf("chain starts at %s, snapshot at %s", segs[0].From, m.Snapshot.GTID)
	}
	var txns int64
	for _, sg := range segs {
		txns += sg.Transactions
	}
	if want := seqOf(t, segs[len(segs)-1].To) - seqOf(t, m.Snapshot.GTID); txns != want || want != 291 {
		t.Fatalf("segments hold %d transactions, the server committed %d since the snapshot (want 291)", txns, want)
	}
	rep, err := backup.VerifyBinlogChain(ctx, st, k.ids, m.Snapshot.GTID)
	if err != nil || !rep.OK() || rep.Segments != len(segs) {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	// prune keeps every segment the oldest kept snapshot still needs, and drops those a newer kept snapshot
	// already holds but the newest, the chain's head (dry run: decided, nothing removed).
	m2 := runBackup(t, st, k, "pitr", clock.Add(time.Hour))
	prep, err := backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 2}, Now: clock.Add(2 * time.Hour), DryRun: true})
	if err != nil || len(prep.Segments) != 0 {
		t.Fatalf("prune keeping the first snapshot removes segments %v (%v)", prep.Segments, err)
	}
	prep, err = backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 1}, Now: clock.Add(2 * time.Hour), DryRun: true})
	if err != nil || len(prep.Segments) != len(segs)-1 || prep.Segments[len(prep.Segments)-1] != segs[len(segs)-2].Seq {
		t.Fatalf("prune keeping only %s (GTID %s) would remove segments %v of %d (%v)", m2.ID, m2.Snapshot.GTID, prep.Segments, len(segs), err)
	}
	if after, _ := backup.ListSegments(ctx, st); len(after) != len(segs) {
		t.Fatal("a dry run removed segments")
	}

	// A lost segment is a gap that verify names.
	if len(segs) < 3 {
		t.Fatalf("only %d segments", len(segs))
	}
	if err := st.Delete(ctx, manifest.BinlogDir+"/"+manifest.SegmentIndexName(segs[1].Seq)); err != nil {
		t.Fatal(err)
	}
	rep, err = backup.VerifyBinlogChain(ctx, st, k.ids, m.Snapshot.GTID)
	if err != nil || rep.OK() || len(rep.Gaps) != 1 || !strings.Contains(rep.Gaps[0], fmt.Sprintf("segments %d to %d missing", segs[1].Seq, segs[1].Seq)) {
		t.Fatalf("gap not reported: %+v %v", rep, err)
	}
	if _, err := backup.Prune(ctx, backup.PruneOptions{Store: st, Policy: retention.Policy{KeepLast: 1}, Now: clock.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if after, _ := backup.ListSegments(ctx, st); len(after) != 1 || after[0].Seq != segs[len(segs)-1].Seq {
		t.Fatalf("segments left after pruning to a snapshot holding them all: %+v, want the head alone", after)
	}
}
