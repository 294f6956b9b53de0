package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/bench/internal/timing"
)

// The point-in-time recovery measurement (issue 14): a snapshot of pitrDB, then `writes` rows written in
// transactions of 10 whose commit times (SET TIMESTAMP: the binlog records the session's time) are spread
// over the 35 minutes after the snapshot while `plinth backup binlog` streams them, then `plinth backup
// restore --to-time` the snapshot's time + 30 minutes into another database. The restored table must match
// the source's rows committed up to that second (count and a hash over every row); the seconds of data lost
// are the newest such row's time minus the newest restored row's time (0 when nothing committed up to the
// target is missing).
const (
	pitrDB     = "benchpitr"
	pitrTarget = "pitr_restored"
	pitrSpan   = 35 * time.Minute
	pitrAt     = 30 * time.Minute
	pitrBatch  = 10
)

type pitrResult struct {
	restore  time.Duration
	lostSecs float64
	rows     int64
}

func runPITR(ctx context.Context, db *sql.DB, env []string, plinth, dir, recipient, idFile string, writes int) (pitrResult, error) {
	var res pitrResult
	vault := filepath.Join(dir, "vault-pitr")
	_ = os.RemoveAll(vault)
	if err := os.MkdirAll(vault, 0o700); err != nil {
		return res, err
	}
	env = append(append([]string{}, env...), "PLINTH_BACKUP_STORE=file://"+vault+"?metadata=skip", "PLINTH_BACKUP_IDENTITY="+idFile)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + pitrDB, "DROP DATABASE IF EXISTS " + pitrTarget, "CREATE DATABASE " + pitrDB,
		"CREATE TABLE " + pitrDB + ".t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL, at DATETIME(6) NOT NULL)",
		"INSERT INTO " + pitrDB + ".t (v, at) SELECT MD5(seq), NOW(6) FROM " + pitrDB + ".seq_1_to_10000"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return res, fmt.Errorf("pitr: %s: %w", q, err)
		}
	}
	if _, _, out, err := timing.Measure(ctx, env, plinth, "backup", "run", "-d", pitrDB, "-r", recipient, "-q"); err != nil {
		return res, fmt.Errorf("pitr: plinth backup run: %w\n%s", err, out)
	}
	snap := time.Now().Truncate(time.Second).Add(time.Second)

	streamer := exec.CommandContext(ctx, plinth, "backup", "binlog", "-r", recipient, "-q", "--segment-age", "2s", "--server-id", "4343")
	streamer.Env = env
	var slog strings.Builder
	streamer.Stdout, streamer.Stderr = &slog, &slog
	if err := streamer.Start(); err != nil {
		return res, fmt.Errorf("pitr: start plinth backup binlog: %w", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = streamer.Process.Signal(syscall.SIGTERM)
			_ = streamer.Wait()
		}
	}
	defer stop()

	// The writes, on one connection so that SET TIMESTAMP applies to them.
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	txns := max(writes/pitrBatch, 1)
	step := pitrSpan / time.Duration(txns)
	insert := "INSERT INTO " + pitrDB + ".t (v, at) VALUES " + strings.TrimSuffix(strings.Repeat("(MD5(RAND()), NOW(6)),", pitrBatch), ",")
	start := time.Now()
	var last time.Time
	for i := 1; i <= txns; i++ {
		last = snap.Add(time.Duration(i) * step)
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET TIMESTAMP = %d.%06d", last.Unix(), last.Nanosecond()/1000)); err != nil {
			return res, err
		}
		if _, err := conn.ExecContext(ctx, insert); err != nil {
			return res, fmt.Errorf("pitr: write %d: %w", i, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "SET TIMESTAMP = DEFAULT"); err != nil {
		return res, err
	}
	fmt.Printf("pitr: %d rows in %d transactions written in %.1fs, commit times spread over %s after the snapshot\n",
		txns*pitrBatch, txns, time.Since(start).Seconds(), pitrSpan)
	if err := waitStreamed(filepath.Join(vault, "binlog"), last.Truncate(time.Second), 3*time.Minute); err != nil {
		return res, fmt.Errorf("pitr: %w\nstreamer output:\n%s", err, slog.String())
	}
	stop()

	target := snap.Add(pitrAt)
	want, err := pitrState(ctx, db, pitrDB, target)
	if err != nil {
		return res, err
	}
	d, _, out, err := timing.Measure(ctx, env, plinth, "backup", "restore", "--to-time", target.UTC().Format(time.RFC3339),
		"--rename", pitrDB+"="+pitrTarget, "-q")
	if err != nil {
		return res, fmt.Errorf("pitr: plinth backup restore --to-time: %w\n%s", err, out)
	}
	got, err := pitrState(ctx, db, pitrTarget, time.Time{})
	if err != nil {
		return res, err
	}
	res.restore, res.rows = d, got.rows
	res.lostSecs = want.newest.Sub(got.newest).Seconds()
	fmt.Printf("pitr: restore --to-time snapshot+%s: %.1fs; source up to the target: %d rows, newest %s; restored: %d rows, newest %s\n",
		pitrAt, d.Seconds(), want.rows, want.newest.Format(time.TimeOnly), got.rows, got.newest.Format(time.TimeOnly))
	if got != want {
		return res, fmt.Errorf("pitr: restored %s differs from the source up to %s: %+v, want %+v", pitrTarget, target.Format(time.RFC3339), got, want)
	}
	return res, nil
}

type pitrSnapshot struct {
	rows   int64
	hash   int64
	newest time.Time
}

// pitrState is the count, an order-independent hash and the newest commit time of the rows of db.t committed
// before the second after upTo (all rows when upTo is zero).
func pitrState(ctx context.Context, db *sql.DB, name string, upTo time.Time) (pitrSnapshot, error) {
	q := "SELECT COUNT(*), COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, v, at))), 0), COALESCE(UNIX_TIMESTAMP(MAX(at)), 0) FROM " + name + ".t"
	var args []any
	if !upTo.IsZero() {
		q += " WHERE at < FROM_UNIXTIME(?)"
		args = append(args, upTo.Add(time.Second).Unix())
	}
	var s pitrSnapshot
	var newest float64
	if err := db.QueryRowContext(ctx, q, args...).Scan(&s.rows, &s.hash, &newest); err != nil {
		return s, fmt.Errorf("pitr: state of %s: %w", name, err)
	}
	s.newest = time.UnixMicro(int64(newest * 1e6)).Truncate(time.Millisecond)
	return s, nil
}

// waitStreamed waits until a segment index in dir records a transaction at or after t.
func waitStreamed(dir string, t time.Time, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				continue
			}
			var seg struct {
				LastTime time.Time `json:"lastTime"`
			}
			if json.Unmarshal(b, &seg) == nil && !seg.LastTime.Before(t) {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no binlog segment reached %s within %s", t.Format(time.RFC3339), limit)
}
