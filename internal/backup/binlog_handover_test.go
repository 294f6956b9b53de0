package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/backup/retention"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// worker is one worker host's streamer: the writer identity, its own cursor and replica server id.
type worker struct {
	*streamer
	name   string
	cursor string
	lines  *logLines
}

// logLines collects a streamer's progress lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// startWorker starts a streamer; cursor "" is a new cursor file.
func startWorker(t *testing.T, st backup.Store, k keys, name string, serverID uint32, from, cursor string, lease time.Duration) *worker {
	t.Helper()
	if cursor == "" {
		cursor = filepath.Join(t.TempDir(), "binlog.cursor")
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{streamer: &streamer{cancel: cancel, done: make(chan error, 1)}, name: name, cursor: cursor, lines: &logLines{}}
	go func() {
		w.done <- backup.StreamBinlog(ctx, backup.BinlogOptions{Store: st, Recipients: k.rcpt, Flavor: "mariadb",
			SegmentBytes: 4 << 10, SegmentAge: 400 * time.Millisecond, Lease: lease, Poll: 50 * time.Millisecond,
			Cursor: w.cursor, From: from, Holder: name, Log: w.lines.printf,
			Open: func(from string) (backup.BinlogSource, error) {
				return mysqlx.OpenBinlogStream(srv.DSN(""), "mariadb", serverID, from, nil)
			}})
	}()
	return w
}

// committed reports whether w's cursor shows it committed a segment.
func (w *worker) committed() bool {
	_, err := os.Stat(w.cursor)
	return err == nil
}

// checkChain: no gap, exactly the transactions the server committed since from, every object reads back.
func checkChain(t *testing.T, st backup.Store, k keys, from string) []manifest.Segment {
	t.Helper()
	segs, err := backup.ListSegments(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if gaps := manifest.ChainGaps(segs); len(gaps) > 0 {
		t.Fatalf("gaps: %v", gaps)
	}
	if segs[0].From != from {
		t.Fatalf("the chain starts at %s, want %s", segs[0].From, from)
	}
	var txns int64
	for _, sg := range segs {
		txns += sg.Transactions
	}
	if want := seqOf(t, segs[len(segs)-1].To) - seqOf(t, from); txns != want {
		t.Fatalf("segments hold %d transactions, the server committed %d: a transaction lost or duplicated", txns, want)
	}
	rep, err := backup.VerifyBinlogChain(context.Background(), st, k.ids, from)
	if err != nil || !rep.OK() || rep.Segments != len(segs) {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	return segs
}

// TestBinlogHandOverBetweenWorkers (issue 14, several workers): two workers stream as the vault's writer
// identity (GET on the chain's indexes, hints and beats; no list, no delete). The first leads, the second stands
// by; the leader is killed mid-segment; the standby takes over from the head's end GTID once the lease ran out:
// the chain has no gap and no duplicate, and a point-in-time restore to a second after the hand-over matches
// the source's checksum at that second.
func TestBinlogHandOverBetweenWorkers(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS hand", "CREATE DATABASE hand",
		"CREATE TABLE hand.acct (id INT PRIMARY KEY, balance BIGINT, note VARCHAR(40))")
	d := srv.Open(t, "hand")
	for i := 0; i < 40; i++ {
		d.Exec("INSERT INTO acct VALUES (?, 100, 'seed')", i)
	}
	mem, k := memStore(t), newKeys(t)
	m := runBackup(t, mem, k, "hand", time.Now().Add(-time.Minute))
	st := writerOnly{mem}
	update := func(n int, note string) {
		for i := 0; i < n; i++ {
			if _, err := d.Exec("UPDATE acct SET balance = balance + ?, note = ? WHERE id = ?", i, note, i%40); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := startWorker(t, st, k, "worker-a", 4250, m.Snapshot.GTID, "", 2*time.Second)
	update(120, "a leads")
	waitCovered(t, mem, a.streamer)
	b := startWorker(t, st, k, "worker-b", 4251, m.Snapshot.GTID, "", 2*time.Second)
	time.Sleep(300 * time.Millisecond) // b finds the head and stands by
	update(150, "a leads, b stands by")
	waitCovered(t, mem, a.streamer)
	if b.committed() || b.lines.count("standing by after segment") != 1 {
		t.Fatalf("b did not stand by: %v", b.lines.lines)
	}
	update(30, "in a's open segment") // a is killed before its segment closes: b streams these again
	a.stop(t)
	update(100, "after a died")
	nextSecond()
	target := time.Now().Add(-time.Second).Truncate(time.Second)
	want := mysqltest.Checksum(t, d, "hand.acct")
	nextSecond()
	update(60, "after the target")
	waitCovered(t, mem, b.streamer)
	if !b.committed() || b.lines.count("taking over from GTID") != 1 {
		t.Fatalf("b did not take over: %v", b.lines.lines)
	}
	b.stop(t)
	segs := checkChain(t, mem, k, m.Snapshot.GTID)
	t.Logf("%d segments; b: %v", len(segs), b.lines.lines[:3])
	if segs[len(segs)-1].LastTime.Before(target) {
		t.Fatalf("the chain ends at %s, before the target %s", segs[len(segs)-1].LastTime, target)
	}

	rep, od := restoreToTimeOnNewServer(t, mem, k, target)
	if got := mysqltest.Checksum(t, od, "hand.acct"); got != want {
		t.Fatalf("restored to %s across the hand-over (%d segments): checksum %s, the source had %s", target, rep.Segments, got, want)
	}

	// a restarts: its cursor is behind the head b wrote, so it stands by instead of leading.
	a = startWorker(t, st, k, "worker-a", 4250, m.Snapshot.GTID, a.cursor, 2*time.Second)
	time.Sleep(500 * time.Millisecond)
	if a.lines.count("standing by after segment") != 1 || a.lines.count("leading:") != 0 {
		t.Fatalf("a restarted after b took over: %v", a.lines.lines)
	}
	a.stop(t)
}

// raceStore holds the creates of one index until two streamers both try it, then lets them race.
type raceStore struct {
	writerOnly
	key     string
	mu      sync.Mutex
	arrived int
	go_     chan struct{}
}

func (r *raceStore) CreateIfAbsent(ctx context.Context, key string, data []byte) (bool, error) {
	if key == r.key {
		r.mu.Lock()
		r.arrived++
		if r.arrived == 2 {
			close(r.go_)
		}
		r.mu.Unlock()
		select {
		case <-r.go_:
		case <-time.After(20 * time.Second):
		}
	}
	return r.writerOnly.CreateIfAbsent(ctx, key, data)
}

// TestBinlogIndexRace: two streamers that both lead (a lease of 1 ns: each takes over at every look) write the
// same index at once: exactly one wins, the loser's data object is an orphan it may not delete (the writer),
// which prune then removes; through the churn the chain holds every transaction exactly once.
func TestBinlogIndexRace(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS race", "CREATE DATABASE race", "CREATE TABLE race.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
	mem, k := memStore(t), newKeys(t)
	from := gtidPos(t)
	d := srv.Open(t, "race")
	st := &raceStore{writerOnly: writerOnly{mem}, key: manifest.BinlogDir + "/" + manifest.SegmentIndexName(1), go_: make(chan struct{})}
	a := startWorker(t, st, k, "worker-a", 4252, from, "", time.Nanosecond)
	b := startWorker(t, st, k, "worker-b", 4253, from, "", time.Nanosecond)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			if _, err := d.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprint("row ", i)); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	select {
	case <-st.go_:
	case <-time.After(30 * time.Second):
		t.Fatal("the two streamers never raced for segment 1")
	}
	time.Sleep(3 * time.Second)
	stop.Store(true)
	<-done
	waitCovered(t, mem, a.streamer)
	a.stop(t)
	b.stop(t)
	lost := a.lines.count("committed by another streamer") + b.lines.count("committed by another streamer")
	if lost < 1 {
		t.Fatalf("no index race lost: a %v b %v", a.lines.lines, b.lines.lines)
	}
	segs := checkChain(t, mem, k, from)
	// The losers' objects stay (the writer may not delete); prune, as the admin, removes exactly those.
	used := map[string]bool{}
	for _, s := range segs {
		used[manifest.BinlogDir+"/"+s.Object] = true
	}
	objs, err := mem.List(context.Background(), manifest.BinlogDir+"/")
	if err != nil {
		t.Fatal(err)
	}
	orphans := 0
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".age") && !used[o.Key] {
			orphans++
		}
	}
	if orphans < lost {
		t.Fatalf("%d orphans for %d lost races", orphans, lost)
	}
	runBackup(t, mem, k, "race", time.Now())
	rep, err := backup.Prune(context.Background(), backup.PruneOptions{Store: mem, Policy: retention.Policy{KeepLast: 1}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range rep.Leftovers {
		if strings.HasSuffix(l, ".age") {
			n++
		}
	}
	if n != orphans {
		t.Fatalf("prune removed %d orphans of %d: %v", n, orphans, rep.Leftovers)
	}
	t.Logf("%d segments, %d index races lost, %d orphans and %d stale beats removed by prune", len(segs), lost, orphans, len(rep.Leftovers)-n)
	after, err := backup.ListSegments(context.Background(), mem)
	if err != nil || len(after) < 1 || after[len(after)-1].Seq != segs[len(segs)-1].Seq {
		t.Fatalf("prune removed the chain's head: %v %v", after, err)
	}
	rc, err := mem.Open(context.Background(), manifest.BinlogDir+"/"+manifest.HeadHintName(0))
	if err != nil {
		t.Fatalf("prune removed head hint 0: %v", err)
	}
	rc.Close()
}

// waitLine waits until w logged sub.
func waitLine(t *testing.T, w *worker, sub string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); w.lines.count(sub) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q: %v", w.name, sub, w.lines.lines)
		}
	}
}

// TestBinlogIdleLeaderKeepsTheLead: on an idle server the leader commits nothing, so it beats once per segment
// age and the standby, seeing the beats, does not take over, however long the idle spell; once the leader is
// gone the standby takes over after the lease even though nothing is written, and streams what comes next.
func TestBinlogIdleLeaderKeepsTheLead(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS idle", "CREATE DATABASE idle", "CREATE TABLE idle.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
	mem, k := memStore(t), newKeys(t)
	st := writerOnly{mem}
	from := gtidPos(t)
	d := srv.Open(t, "idle")
	a := startWorker(t, st, k, "worker-a", 4254, from, "", 2*time.Second)
	waitLine(t, a, "leading:", 10*time.Second)
	if _, err := d.Exec("INSERT INTO t (v) VALUES ('first')"); err != nil {
		t.Fatal(err)
	}
	waitCovered(t, mem, a.streamer)
	b := startWorker(t, st, k, "worker-b", 4255, from, "", 2*time.Second)
	waitLine(t, b, "standing by after segment 1", 10*time.Second)
	time.Sleep(5 * time.Second) // two and a half leases with nothing to stream
	if b.lines.count("taking over") != 0 {
		t.Fatalf("b took over from an idle but live leader: %v", b.lines.lines)
	}
	beats, err := mem.List(context.Background(), manifest.BinlogDir+"/beat/")
	if err != nil || len(beats) < 8 {
		t.Fatalf("the idle leader's beats: %v %v", beats, err)
	}
	a.stop(t)
	stopped := time.Now()
	waitLine(t, b, "taking over", 10*time.Second)
	t.Logf("%d beats in 5 s of idle; b took over %s after a stopped (lease 2 s)", len(beats), time.Since(stopped).Round(100*time.Millisecond))
	for i := 0; i < 20; i++ {
		if _, err := d.Exec("INSERT INTO t (v) VALUES ('after')"); err != nil {
			t.Fatal(err)
		}
	}
	waitCovered(t, mem, b.streamer)
	b.stop(t)
	checkChain(t, mem, k, from)
}

// TestBinlogStartRaceLoserSaysItStandsBy: two workers whose streamers start together on an empty chain
// both claim beat 1 at once (held until both try it); one wins and leads, and the other, which had no
// standby line to print before its claim, now says it stands by and who leads: on the live cloud that line
// is how an operator (and TestBinlogHandOverLive) tells the standby from a streamer that hangs.
func TestBinlogStartRaceLoserSaysItStandsBy(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS startrace", "CREATE DATABASE startrace", "CREATE TABLE startrace.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
	mem, k := memStore(t), newKeys(t)
	from := gtidPos(t)
	st := &raceStore{writerOnly: writerOnly{mem}, key: manifest.BinlogDir + "/" + manifest.BeatName(0, 1), go_: make(chan struct{})}
	a := startWorker(t, st, k, "worker-a", 4256, from, "", 2*time.Second)
	b := startWorker(t, st, k, "worker-b", 4257, from, "", 2*time.Second)
	select {
	case <-st.go_:
	case <-time.After(30 * time.Second):
		t.Fatal("the two streamers never raced for beat 1")
	}
	var leader, standby *worker
	for deadline := time.Now().Add(10 * time.Second); leader == nil; time.Sleep(50 * time.Millisecond) {
		switch {
		case a.lines.count("leading:") == 1 && b.lines.count("claimed it first") == 1:
			leader, standby = a, b
		case b.lines.count("leading:") == 1 && a.lines.count("claimed it first") == 1:
			leader, standby = b, a
		case time.Now().After(deadline):
			t.Fatalf("not one leader and one standby saying so:\na %v\nb %v", a.lines.lines, b.lines.lines)
		}
	}
	if n := standby.lines.count("standing by after segment 0 (beat 1, held by " + leader.name + ")"); n != 1 || standby.lines.count("leading:") != 0 {
		t.Fatalf("%s's standby line does not name the leader %s: %v", standby.name, leader.name, standby.lines.lines)
	}
	d := srv.Open(t, "startrace")
	for i := 0; i < 20; i++ {
		if _, err := d.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprint("row ", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitCovered(t, mem, leader.streamer)
	if standby.committed() || standby.lines.count("taking over") != 0 {
		t.Fatalf("%s took over from a live leader: %v", standby.name, standby.lines.lines)
	}
	a.stop(t)
	b.stop(t)
	checkChain(t, mem, k, from)
}
