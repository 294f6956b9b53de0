package backup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// syncBuf is a process's stderr, read while it runs.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Audit gap 7: the streamer as its unit runs it (Restart=always): the `plinth backup binlog` binary, killed
// with SIGKILL while the application writes (its open segment never indexed), then started again with the
// same --cursor. The restarted process leads at once (its cursor says it wrote the head: no lease wait), and
// the chain from the backup's snapshot has no gap and holds every transaction exactly once.
func TestBinlogProcessKilledResumesFromItsCursor(t *testing.T) {
	e := newEnv(t)
	e.now = time.Now().Add(-time.Minute).UTC()
	if _, errOut, err := e.exec("run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "-d", "app", "-q"); err != nil {
		t.Fatalf("run: %v %s", err, errOut)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "plinth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/plinth-dev/plinth/cmd/plinth").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cursor := filepath.Join(dir, "cursor")
	start := func() (*exec.Cmd, *syncBuf) {
		t.Helper()
		cmd := exec.Command(bin, "backup", "binlog", "--store", e.store, "--recipient", e.pub,
			"--segment-age", "1s", "--lease", "2m", "--cursor", cursor, "--server-id", "4260")
		cmd.Env = append(os.Environ(), "PLINTH_BACKUP_DSN="+e.srv.DSN(""), "AWS_EC2_METADATA_DISABLED=true")
		errOut := &syncBuf{}
		cmd.Stderr = errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, errOut
	}
	st, err := blobstore.Open(context.Background(), e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	segments := func() int {
		segs, err := backup.ListSegments(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		return len(segs)
	}

	d := e.srv.Open(t, "app")
	var snapshot string
	if err := d.QueryRow("SELECT @@gtid_binlog_pos").Scan(&snapshot); err != nil {
		t.Fatal(err)
	}
	const writes = 400
	written := make(chan error, 1)
	go func() { // one transaction every ~10 ms, across the kill and the restart
		for i := 1000; i < 1000+writes; i++ {
			if _, err := d.Exec("INSERT INTO t VALUES (?, 'w')", i); err != nil {
				written <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		written <- nil
	}()

	first, firstErr := start()
	for deadline := time.Now().Add(60 * time.Second); segments() < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no two segments from the first streamer: %s", firstErr)
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	var atKill string
	if err := d.QueryRow("SELECT @@gtid_binlog_pos").Scan(&atKill); err != nil {
		t.Fatal(err)
	}
	killedAt := segments()
	head, err := backup.ListSegments(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := mysqlx.GTIDContains("mariadb", head[len(head)-1].To, atKill); ok {
		t.Fatalf("every transaction at the kill (%s) was already in a committed segment: the kill lost nothing to resume", atKill)
	}
	time.Sleep(500 * time.Millisecond) // the application keeps writing while no streamer runs

	restarted := time.Now()
	second, secondErr := start()
	defer func() {
		if second.ProcessState == nil {
			_ = second.Process.Kill()
			_ = second.Wait()
		}
	}()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	var pos string
	if err := d.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		segs, err := backup.ListSegments(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := mysqlx.GTIDContains("mariadb", segs[len(segs)-1].To, pos); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted streamer never reached %s:\n%s", pos, secondErr)
		}
	}
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("the restarted streamer on SIGTERM: %v\n%s", err, secondErr)
	}
	log := secondErr.String()
	if !strings.Contains(log, "binlog: leading: streaming from GTID") || strings.Contains(log, "standing by") || time.Since(restarted) > time.Minute {
		t.Fatalf("the restarted streamer did not lead at once from its cursor:\n%s", log)
	}

	ids, err := backup.ReadIdentityFile(e.identity)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := backup.VerifyBinlogChain(context.Background(), st, ids, snapshot)
	if err != nil || !chain.OK() {
		t.Fatalf("chain after the kill: %+v %v", chain, err)
	}
	segs, err := backup.ListSegments(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	var txns int64
	for _, s := range segs {
		txns += s.Transactions
	}
	if txns != writes || len(segs) <= killedAt {
		t.Fatalf("%d transactions in %d segments (%d before the kill), want exactly %d", txns, len(segs), killedAt, writes)
	}
	t.Logf("%d segments (%d committed before the SIGKILL, head %s, server at %s), %d transactions; restarted streamer: %s",
		len(segs), killedAt, head[len(head)-1].To, atKill, txns, strings.SplitN(log, "\n", 2)[0])
}
