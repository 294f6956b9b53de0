package livecloud_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// TestBinlogHandOverLive is issue 14's hand-over between workers on real hosts: preproduction as specified
// (two workers, one per availability zone; a primary with a replica; up in about 20 s like staging), each
// worker running the rendered plinth-binlog.service with a 4 s segment age
// (PLINTH_LIVE_BINLOG_SEGMENT_AGE; the lease, the command's default, is 12 s). After `up` and `backup grant`
// exactly one streams and the other says it stands by and who leads; rows go into the primary before,
// during and after the leading worker's host dies (every process of it SIGKILLed by the pid the live
// supervisor reports, the anchor first: the platform then replaces the host); the standby takes over within
// the lease from the last segment the dead leader committed. The vault's chain then has no gap and holds
// every transaction the server committed exactly once (GTID arithmetic over the indexes), `backup verify`
// passes with the chain, and a restore of the test's backup taken before the hand-over, replayed
// `--to-gtid` the server's last GTID into a scratch MariaDB, holds exactly the primary's rows.
func TestBinlogHandOverLive(t *testing.T) {
	const stack = "preproduction"
	localcloudtest.LockLiveStack(t, stack)
	began := time.Now()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	const segAge = 4 * time.Second
	lease := 3 * segAge
	home, project := t.TempDir(), projectCopy(t, root)
	liveDir := filepath.Join(home, "live")
	// The timers fire once an hour: the one backup is the test's, taken before the hand-over, so that the
	// restore at the end replays the chain across it.
	run, plinth := runners(t, plinthRunner(t, root, project, home, "PLINTH_LOCAL_LIVE=1", live.EnvBackupInterval+"=1h",
		live.EnvBinlogSegmentAge+"="+segAge.String()))
	key := filepath.Join(t.TempDir(), "restore.key")
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(plinth("backup", "keygen", "--out", key))
	addRecipient(t, project, stack, recipient)

	start := time.Now()
	plinth("up", "--stack", stack, "--cloud", "local")
	t.Logf("up: %s", time.Since(start).Round(time.Second))
	st := rawStatus(t, liveDir, stack)
	workers := st.hostsOf("worker")
	primary, dbHost := st.primary()
	if len(workers) != 2 || dbHost == "" || st.Vault == nil || st.Vault.TokenFiles[live.VaultRestore] == "" {
		t.Fatalf("status: workers %v, database host %q, vault %+v", workers, dbHost, st.Vault)
	}
	plinth("backup", "grant", "--stack", stack)
	granted := time.Now()
	logOf := func(host string) string {
		return filepath.Join(hostDirOf(home, stack, host), "log", userdata.BinlogUnit+".log")
	}

	// 1. Exactly one streams; the other stands by, naming the leader's streamer (its pid, the supervisor's).
	leader, standby := whoLeads(t, logOf, workers, 90*time.Second)
	status := func() liveStatus { return rawStatus(t, liveDir, stack) }
	leaderPid, standbyPid := unitPid(t, status(), leader), unitPid(t, status(), standby)
	t.Logf("%s leads (pid %d), %s stands by (pid %d), %s after the grant", leader, leaderPid, standby, standbyPid,
		time.Since(granted).Round(time.Second))
	// A standby that finds a beat after the head (the leader's claim, or an idle leader's) names its holder;
	// after a committed segment with no beat since there is no one to name.
	b, _ := os.ReadFile(logOf(standby))
	line := lineWith(string(b), "standing by after segment")
	t.Logf("%s: %s", standby, line)
	if strings.Contains(line, "held by") && !strings.Contains(line, fmt.Sprintf(" pid %d)", leaderPid)) {
		t.Errorf("%s's standby line names another streamer than the leader's (pid %d)", standby, leaderPid)
	}

	// The primary streams to the leader alone: one Binlog Dump thread of the backup user, from its address.
	db := masterDB(t, st, hostNS(home, stack, dbHost), primary)
	if got := dumpHosts(t, db); len(got) != 1 || got[0] != st.addressOf(leader) {
		t.Fatalf("the primary streams its binlog to %v as %s, want the leader %s (%s) alone", got, cloud.BackupUser, leader, st.addressOf(leader))
	}

	// 2. Rows: some in the snapshot of the test's backup, more streamed before the hand-over.
	for _, q := range []string{"CREATE DATABASE handover",
		"CREATE TABLE handover.t (id INT PRIMARY KEY, phase VARCHAR(12) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	next := insertRows(t, db, 1, 50, "snapshot")
	plinth("backup", "run", "--stack", stack, "-r", recipient, "-q")
	next = insertRows(t, db, next, 100, "before")
	vault := vaultStore(t, st, stack, live.VaultRestore)
	waitChain(t, vault, gtidPos(t, db), time.Minute)

	// 3. Rows keep coming while the leader's host dies.
	var stop atomic.Bool
	wrote := make(chan error, 1)
	go func() {
		for id := next; ; id++ {
			if stop.Load() {
				next = id
				wrote <- nil
				return
			}
			if _, err := db.Exec("INSERT INTO handover.t (id, phase) VALUES (?, 'during')", id); err != nil {
				wrote <- fmt.Errorf("row %d: %w", id, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(segAge + segAge/2) // a segment of them committed, the next one open
	// The host's directory goes with it: its log is read through this descriptor.
	leaderLog, err := os.Open(logOf(leader))
	if err != nil {
		t.Fatal(err)
	}
	defer leaderLog.Close()
	killHost(t, status(), leader)
	killed := time.Now()
	waitLog(t, logOf(standby), "taking over from GTID", lease+time.Minute)
	took := time.Since(killed)
	t.Logf("%s took over %s after %s's host was killed (lease %s, segment age %s)", standby, took.Round(100*time.Millisecond),
		leader, lease, segAge)
	b, _ = os.ReadFile(logOf(standby))
	t.Logf("%s: %s", standby, lineWith(string(b), "taking over"))
	if took > lease+2*segAge {
		t.Errorf("the take-over took %s: want at most the lease %s and two segment ages", took, lease)
	}
	time.Sleep(segAge) // rows streamed by the new leader while the writes go on
	stop.Store(true)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	next = insertRows(t, db, next, 50, "after")
	final := gtidPos(t, db)
	segs := waitChain(t, vault, final, lease+time.Minute)
	if got := dumpHosts(t, db); len(got) != 1 || got[0] != st.addressOf(standby) {
		t.Fatalf("after the hand-over the primary streams its binlog to %v, want the new leader %s (%s) alone", got, standby, st.addressOf(standby))
	}

	// 4. The standby continued from the dead leader's last segment; the chain is whole, no GTID twice.
	dead, _ := io.ReadAll(leaderLog)
	lastDead := lastSegment(string(dead))
	claim := claimOf(t, vault, standbyPid)
	if lastDead < 1 || claim != lastDead {
		t.Fatalf("%s claimed the lead after segment %d, %s's last segment was %d:\n%s", standby, claim, leader, lastDead, tailOf(dead))
	}
	if gaps := manifest.ChainGaps(segs); len(gaps) > 0 {
		t.Fatalf("the chain has gaps: %v", gaps)
	}
	var txns int64
	for _, s := range segs {
		txns += s.Transactions
	}
	if want := gtidCount(t, segs[len(segs)-1].To) - gtidCount(t, segs[0].From); txns != want {
		t.Fatalf("the %d segments hold %d transactions, the server committed %d from %s to %s: one lost or duplicated",
			len(segs), txns, want, segs[0].From, segs[len(segs)-1].To)
	}
	t.Logf("%d segments, %d transactions, GTID %s .. %s; %s led to segment %d, %s from segment %d", len(segs), txns,
		segs[0].From, segs[len(segs)-1].To, leader, lastDead, standby, lastDead+1)

	// 5. verify: the test's backup and its chain across the hand-over.
	var rep struct {
		OK     bool `json:"ok"`
		Binlog *struct {
			Segments int      `json:"segments"`
			Gaps     []string `json:"gaps"`
		} `json:"binlog"`
	}
	out := plinth("backup", "verify", "latest", "-i", key, "--stack", stack, "--cloud", "local", "-q", "-o", "json", "--no-mark")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.Binlog == nil || len(rep.Binlog.Gaps) > 0 ||
		rep.Binlog.Segments < len(segs)-claim+1 {
		t.Fatalf("backup verify: %v\n%s", err, tailOf([]byte(out)))
	}

	// 6. Every row, before, during and after the hand-over: the backup restored into a scratch server and
	// the chain replayed to the server's last GTID hold exactly the primary's rows.
	scratch := mysqltest.New(t)
	if out, err := run("backup", "restore", "--to-gtid", lastGTID(final), "-i", key, "--stack", stack, "--cloud", "local",
		"--dsn", scratch.DSN(""), "-q"); err != nil {
		t.Fatalf("restore --to-gtid %s: %v\n%s", final, err, tailOf([]byte(out)))
	}
	want, got := rowsOf(t, db), rowsOf(t, scratch.Open(t, ""))
	if got != want || want.n != int64(next-1) {
		t.Fatalf("restored %+v, the primary holds %+v (%d rows written)", got, want, next-1)
	}
	t.Logf("restored to %s: %d rows (%d during the hand-over), checksum %d as on the primary", final, got.n, got.during, got.sum)

	// The dead host was replaced; its successor's streamer stands by.
	waitReplacement(t, status, logOf, workers, time.Minute)
	plinth("destroy", "--stack", stack, "--cloud", "local", "--yes")
	t.Logf("the whole test: %s", time.Since(began).Round(time.Second))
}

// whoLeads waits until one worker's streamer leads and every other one says it stands by.
func whoLeads(t *testing.T, logOf func(string) string, workers []string, timeout time.Duration) (leader, standby string) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Second) {
		var leading, standing []string
		var tails []string
		for _, w := range workers {
			b, _ := os.ReadFile(logOf(w))
			switch {
			case strings.Contains(string(b), "binlog: leading:"):
				leading = append(leading, w)
			case strings.Contains(string(b), "standing by after segment"):
				standing = append(standing, w)
			}
			tails = append(tails, w+":\n"+tailOf(b))
		}
		if len(leading) > 1 {
			t.Fatalf("two streamers lead: %v\n%s", leading, strings.Join(tails, "\n"))
		}
		if len(leading) == 1 && len(standing) == len(workers)-1 {
			return leading[0], standing[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader and standby after %s:\n%s", timeout, strings.Join(tails, "\n"))
		}
	}
}

// dumpHosts are the addresses the primary streams its binlog to as the backup user: one Binlog Dump
// thread per streamer that leads (the replica's own thread is another user's).
func dumpHosts(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rs, err := db.Query("SELECT HOST FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'", cloud.BackupUser)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var h string
		if err := rs.Scan(&h); err != nil {
			t.Fatal(err)
		}
		if i := strings.LastIndexByte(h, ':'); i > 0 {
			h = h[:i]
		}
		out = append(out, h)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lineWith is the first line of log holding sub ("" if none).
func lineWith(log, sub string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// unitPid is the pid of host's plinth-binlog.service, as the live supervisor reports it.
func unitPid(t *testing.T, st liveStatus, host string) int {
	t.Helper()
	for _, p := range st.Processes {
		if p.Name == host+"/"+userdata.BinlogUnit && p.Running {
			return p.Pid
		}
	}
	t.Fatalf("%s's %s does not run", host, userdata.BinlogUnit)
	return 0
}

// killHost kills every process of host the way a machine dies: SIGKILL, by the pids the live supervisor
// reports, its namespace's anchor first (nothing enters the host again; the platform replaces it).
func killHost(t *testing.T, st liveStatus, host string) {
	t.Helper()
	procs := st.Processes
	var pids []int
	for _, p := range procs {
		if p.Running && p.Name == host+"/anchor" {
			pids = append([]int{p.Pid}, pids...)
		} else if p.Running && strings.HasPrefix(p.Name, host+"/") {
			pids = append(pids, p.Pid)
		}
	}
	if len(pids) < 2 {
		t.Fatalf("%s: no anchor and streamer to kill in %+v", host, procs)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s's pid %d: %v", host, pid, err)
		}
	}
}

// insertRows inserts n rows of phase from id first, one transaction each, and returns the next id.
func insertRows(t *testing.T, db *sql.DB, first, n int, phase string) int {
	t.Helper()
	for id := first; id < first+n; id++ {
		if _, err := db.Exec("INSERT INTO handover.t (id, phase) VALUES (?, ?)", id, phase); err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
	}
	return first + n
}

func gtidPos(t *testing.T, db *sql.DB) string {
	t.Helper()
	var g string
	if err := db.QueryRow("SELECT @@gtid_binlog_pos").Scan(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

// lastGTID is the GTID of a one-domain MariaDB position (restore --to-gtid takes one GTID).
func lastGTID(pos string) string {
	gs := strings.Split(pos, ",")
	return strings.TrimSpace(gs[len(gs)-1])
}

// gtidCount is the number of transactions up to MariaDB GTID set s: the sum of its domains' sequence
// numbers (one server per domain: the primary's).
func gtidCount(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	domains := map[string]bool{}
	for _, g := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(g), "-")
		if len(f) != 3 || domains[f[0]] {
			t.Fatalf("GTID set %q: want one domain-server-sequence per domain", s)
		}
		domains[f[0]] = true
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("GTID set %q: %v", s, err)
		}
		n += v
	}
	return n
}

// vaultStore opens stack's live vault as identity, the way `--stack S --cloud local` does.
func vaultStore(t *testing.T, st liveStatus, stack, identity string) backup.Store {
	t.Helper()
	q := url.Values{"prefix": {stack + "/"}, "endpoint": {st.Vault.Endpoint}, "ca_file": {st.CAFile}, "token_file": {st.Vault.TokenFiles[identity]}}
	s, err := blobstore.Open(context.Background(), "gs://"+st.Vault.Bucket+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitChain waits until the vault's newest segment reaches GTID set want, and returns the segments.
func waitChain(t *testing.T, st backup.Store, want string, timeout time.Duration) []manifest.Segment {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Second) {
		segs, err := backup.ListSegments(context.Background(), st)
		if err == nil && len(segs) > 0 {
			if ok, _ := mysqlx.GTIDContains("mariadb", segs[len(segs)-1].To, want); ok {
				return segs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no segment reaches GTID %s after %s (%d segments, %v)", want, timeout, len(segs), err)
		}
	}
}

var segmentLine = regexp.MustCompile(`binlog: segment ([0-9]+): `)

// lastSegment is the number of the last segment a streamer's log says it committed (0: none).
func lastSegment(log string) int {
	n := 0
	for _, m := range segmentLine.FindAllStringSubmatch(log, -1) {
		n, _ = strconv.Atoi(m[1])
	}
	return n
}

// claimOf is the segment after which the streamer of pid claimed the lead (a beat it created): -1 if none.
func claimOf(t *testing.T, st backup.Store, pid int) int {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, manifest.BinlogDir+"/beat/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		rc, err := st.Open(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ Holder string }
		err = json.NewDecoder(rc).Decode(&b)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		var seq, n int
		if _, err := fmt.Sscanf(o.Key[strings.LastIndexByte(o.Key, '/')+1:], "%d-%d.json", &seq, &n); err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		if strings.HasSuffix(b.Holder, fmt.Sprintf(" pid %d", pid)) {
			return seq
		}
	}
	return -1
}

// rows is what the test compares of handover.t.
type rows struct {
	n, during, sum int64
}

func rowsOf(t *testing.T, db *sql.DB) rows {
	t.Helper()
	var r rows
	if err := db.QueryRow("SELECT COUNT(*), COALESCE(SUM(phase = 'during'), 0) FROM handover.t").Scan(&r.n, &r.during); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := db.QueryRow("CHECKSUM TABLE handover.t").Scan(&name, &r.sum); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitReplacement waits until a worker that is not one of workers runs and its streamer stands by.
func waitReplacement(t *testing.T, status func() liveStatus, logOf func(string) string, workers []string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Second) {
		for _, w := range status().hostsOf("worker") {
			if w == workers[0] || w == workers[1] {
				continue
			}
			b, _ := os.ReadFile(logOf(w))
			if strings.Contains(string(b), "standing by after segment") {
				t.Logf("%s replaced the dead worker; its streamer stands by", w)
				return
			}
			if strings.Contains(string(b), "binlog: leading:") {
				t.Fatalf("the replacement %s leads beside the live one:\n%s", w, tailOf(b))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replacement worker standing by after %s: %+v", timeout, status().Hosts)
		}
	}
}
