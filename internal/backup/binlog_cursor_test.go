package backup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
	"github.com/plinth-dev/plinth/internal/blobstore"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// writerOnly is the vault as its writer identity sees it (the live vault's gate, the GCS vault's IAM
// condition): objects may be created, only if absent when asked so, never listed or deleted, and read only
// when they are the binlog chain's indexes, head hints and beats.
type writerOnly struct{ *blobstore.Store }

var errRefused = fmt.Errorf("%w: 403: the writer identity may not do that", blobstore.ErrPermissionDenied)

func (writerOnly) List(context.Context, string) ([]blobstore.Object, error) { return nil, errRefused }
func (writerOnly) Dirs(context.Context, string) ([]string, error)           { return nil, errRefused }
func (writerOnly) Delete(context.Context, string) error                     { return errRefused }
func (w writerOnly) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !manifest.WriterReadable(key) {
		return nil, errRefused
	}
	return w.Store.Open(ctx, key)
}

func startCursorStreamer(t *testing.T, st *blobstore.Store, k keys, cursor string) *streamer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &streamer{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- backup.StreamBinlog(ctx, backup.BinlogOptions{Store: writerOnly{st}, Recipients: k.rcpt, Flavor: "mariadb",
			SegmentBytes: 4 << 10, SegmentAge: 500 * time.Millisecond, Cursor: cursor,
			Current: func(ctx context.Context) (string, error) { return mysqlx.CurrentGTID(ctx, srv.Open(t, ""), "mariadb") },
			Open: func(from string) (backup.BinlogSource, error) {
				return mysqlx.OpenBinlogStream(srv.DSN(""), "mariadb", 4243, from, nil)
			}})
	}()
	return s
}

// TestBinlogStreamerAsWriterResumesFromItsCursor: the worker's streamer holds the vault's writer identity
// (create only): it starts a chain at the server's position, keeps a cursor after every segment, and a
// restart resumes from the cursor without loss or duplication, although it can list nothing.
func TestBinlogStreamerAsWriterResumesFromItsCursor(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS wcur", "CREATE DATABASE wcur", "CREATE TABLE wcur.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))")
	st, k := memStore(t), newKeys(t)
	cursor := filepath.Join(t.TempDir(), "binlog.cursor")
	start := gtidPos(t)
	d := srv.Open(t, "wcur")
	write := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := d.Exec("INSERT INTO t (v) VALUES ('x')"); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := startCursorStreamer(t, st, k, cursor)
	time.Sleep(300 * time.Millisecond) // connected at the server's position before the writes
	write(80)
	waitCovered(t, st, s)
	s.stop(t)
	b, err := os.ReadFile(cursor)
	if err != nil || !strings.Contains(string(b), `"seq":`) {
		t.Fatalf("cursor after the first run: %s %v", b, err)
	}
	write(60) // while stopped
	s = startCursorStreamer(t, st, k, cursor)
	segs := waitCovered(t, st, s)
	s.stop(t)

	if gaps := manifest.ChainGaps(segs); len(gaps) > 0 {
		t.Fatalf("gaps: %v", gaps)
	}
	if segs[0].Seq != 1 || segs[0].From != start {
		t.Fatalf("chain starts at segment %d GTID %s, want 1 at the server's %s", segs[0].Seq, segs[0].From, start)
	}
	var txns int64
	for _, sg := range segs {
		txns += sg.Transactions
	}
	if want := seqOf(t, segs[len(segs)-1].To) - seqOf(t, start); txns != want || want != 140 {
		t.Fatalf("segments hold %d transactions, the server committed %d (want 140)", txns, want)
	}
}

// TestBinlogStreamerAsWriterWithoutCursorSaysWhy: no cursor, no way to learn the position: the error names
// the refusal and the cursor file.
func TestBinlogStreamerAsWriterWithoutCursorSaysWhy(t *testing.T) {
	k := newKeys(t)
	cursor := filepath.Join(t.TempDir(), "cursor")
	if err := os.WriteFile(cursor, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := backup.StreamBinlog(context.Background(), backup.BinlogOptions{Store: writerOnly{memStore(t)}, Recipients: k.rcpt,
		Flavor: "mariadb", Cursor: cursor, Open: func(string) (backup.BinlogSource, error) { t.Fatal("opened"); return nil, nil }})
	if err == nil || !strings.Contains(err.Error(), cursor) {
		t.Fatalf("a malformed cursor: %v", err)
	}
	os.Remove(cursor)
	err = backup.StreamBinlog(context.Background(), backup.BinlogOptions{Store: writerOnly{memStore(t)}, Recipients: k.rcpt,
		Flavor: "mariadb", Cursor: cursor, Open: func(string) (backup.BinlogSource, error) { t.Fatal("opened"); return nil, nil }})
	if !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "no cursor in "+cursor) {
		t.Fatalf("no cursor, no position: %v", err)
	}
}

// noReads is a writer identity from before the head-reader grant: it may not even GET the chain's indexes.
type noReads struct{ writerOnly }

func (noReads) Open(context.Context, string) (io.ReadCloser, error) { return nil, errRefused }

// TestBinlogStreamerWithoutTheHeadReaderSaysWhy: a streamer that cannot read the chain's head stops before it
// connects, naming the object and the grant it needs (it never streams blind into a chain it cannot see).
func TestBinlogStreamerWithoutTheHeadReaderSaysWhy(t *testing.T) {
	k := newKeys(t)
	err := backup.StreamBinlog(context.Background(), backup.BinlogOptions{Store: noReads{writerOnly{memStore(t)}}, Recipients: k.rcpt,
		Flavor: "mariadb", From: "0-1-1", Open: func(string) (backup.BinlogSource, error) { t.Fatal("opened"); return nil, nil }})
	if !errors.Is(err, blobstore.ErrPermissionDenied) || !strings.Contains(err.Error(), "binlog/head/0000000000.json") ||
		!strings.Contains(err.Error(), "head-reader grant") {
		t.Fatalf("err = %v", err)
	}
}
