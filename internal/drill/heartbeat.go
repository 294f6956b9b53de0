package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// HeartbeatSchema and HeartbeatTable hold the drill's heartbeat rows on the primary (they replicate like
// any write, so the recovered database shows how far it got).
const (
	HeartbeatSchema = "plinth_drill"
	HeartbeatTable  = "heartbeat"
)

// Heartbeat writes one row per Interval to the primary from Start until MarkT0.
type Heartbeat struct {
	DB       *sql.DB
	DrillID  string
	Interval time.Duration // default 1s
	// Warmup is how long Start lets the writer run before T0 can be marked (default 3 intervals).
	Warmup time.Duration
	// Flavor is the primary's (mysql.MariaDBFlavor, mysql.MySQLFlavor); empty: MarkT0 reads its @@version.
	Flavor string

	mu      sync.Mutex
	seq     int64
	lastAt  time.Time
	err     error
	stop    chan struct{}
	stopped chan struct{}
}

// ensureHeartbeatTable creates the heartbeat table if needed.
func ensureHeartbeatTable(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS `" + HeartbeatSchema + "`",
		"CREATE TABLE IF NOT EXISTS `" + HeartbeatSchema + "`.`" + HeartbeatTable + "` (drill_id VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, at_us BIGINT NOT NULL COMMENT 'unix microseconds', PRIMARY KEY (drill_id, seq)) ENGINE=InnoDB",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("heartbeat table: %w", err)
		}
	}
	return nil
}

// Start creates the table, writes the first heartbeat and keeps writing in the background.
func (h *Heartbeat) Start(ctx context.Context) error {
	if h.Interval <= 0 {
		h.Interval = time.Second
	}
	if h.Warmup <= 0 {
		h.Warmup = 3 * h.Interval
	}
	if err := ensureHeartbeatTable(ctx, h.DB); err != nil {
		return err
	}
	// A drill id seen before (a re-run) continues its sequence.
	var last int64
	q := "SELECT COALESCE(MAX(seq), 0) FROM `" + HeartbeatSchema + "`.`" + HeartbeatTable + "` WHERE drill_id = ?"
	if err := h.DB.QueryRowContext(ctx, q, h.DrillID).Scan(&last); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	h.mu.Lock()
	h.seq = last
	h.mu.Unlock()
	if err := h.beat(ctx); err != nil {
		return err
	}
	h.stop, h.stopped = make(chan struct{}), make(chan struct{})
	go h.loop()
	select {
	case <-ctx.Done():
		h.Stop()
		return ctx.Err()
	case <-time.After(h.Warmup):
	}
	return nil
}

func (h *Heartbeat) loop() {
	defer close(h.stopped)
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*h.Interval)
			err := h.beat(ctx)
			cancel()
			if err != nil {
				h.mu.Lock()
				h.err = err
				h.mu.Unlock()
			}
		}
	}
}

func (h *Heartbeat) beat(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, at := h.seq+1, time.Now().UTC().Truncate(time.Microsecond)
	if _, err := h.DB.ExecContext(ctx, "INSERT INTO `"+HeartbeatSchema+"`.`"+HeartbeatTable+"` (drill_id, seq, at_us) VALUES (?, ?, ?)", h.DrillID, seq, at.UnixMicro()); err != nil {
		return fmt.Errorf("heartbeat %d: %w", seq, err)
	}
	h.seq, h.lastAt = seq, at
	return nil
}

// Stop ends the writer (idempotent; safe without Start).
func (h *Heartbeat) Stop() {
	if h.stop == nil {
		return
	}
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.stopped
}

// MarkT0 writes the final heartbeat, stops the writer and reads the primary's binlog GTID position (MariaDB
// @@gtid_binlog_pos, MySQL @@gtid_executed): the simulated disaster instant. T0.GTID is in the server's own
// notation.
func (h *Heartbeat) MarkT0(ctx context.Context) (T0, error) {
	h.Stop()
	h.mu.Lock()
	werr := h.err
	h.mu.Unlock()
	if werr != nil {
		return T0{}, fmt.Errorf("heartbeat writer: %w", werr)
	}
	if err := h.beat(ctx); err != nil {
		return T0{}, err
	}
	flavor, err := serverFlavor(ctx, h.DB, "primary", h.Flavor)
	if err != nil {
		return T0{}, err
	}
	pos, err := binlogPos(ctx, h.DB, flavor, "primary")
	if err != nil {
		return T0{}, err
	}
	if pos.IsEmpty() {
		return T0{}, noGTIDs(flavor, "primary")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return T0{Seq: h.seq, At: h.lastAt, GTID: pos.String()}, nil
}

// RPO is the measured data loss of a recovered database against T0.
type RPO struct {
	// Loss is T0 minus the time of the last heartbeat that reached the recovered database (for a backup
	// source with no heartbeat of this drill: T0 minus the backup's snapshot time).
	Loss time.Duration `json:"lossNs"`
	// LostBeats is how many of this drill's heartbeats did not reach the recovered database.
	LostBeats     int64     `json:"lostBeats"`
	LastRecovered time.Time `json:"lastRecovered"`
	T0            time.Time `json:"t0"`
	// PrimaryGTID is the primary's binlog position at T0 (MariaDB @@gtid_binlog_pos, MySQL @@gtid_executed);
	// RecoveredGTID the recovered server's (MariaDB @@gtid_current_pos merged with @@gtid_slave_pos, MySQL
	// @@gtid_executed, or the backup's snapshot GTID). Both in the server's own notation.
	PrimaryGTID   string `json:"primaryGtid"`
	RecoveredGTID string `json:"recoveredGtid"`
	// GTIDBehind counts the primary's transactions at T0 the recovered database does not hold.
	GTIDBehind uint64 `json:"gtidBehind"`
	// Consistent: the heartbeat and GTID measures agree (lost heartbeats imply missing transactions, and
	// no missing transactions imply no lost heartbeat).
	Consistent bool `json:"consistent"`
}

// MeasureRPO reads how far the recovered server got: the last heartbeat of this drill it holds and its
// GTID position, against T0.
func MeasureRPO(ctx context.Context, recovered *sql.DB, drillID string, t0 T0) (RPO, error) {
	var seq sql.NullInt64
	var atUS sql.NullInt64
	q := "SELECT seq, at_us FROM `" + HeartbeatSchema + "`.`" + HeartbeatTable + "` WHERE drill_id = ? ORDER BY seq DESC LIMIT 1"
	err := recovered.QueryRowContext(ctx, q, drillID).Scan(&seq, &atUS)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return RPO{}, fmt.Errorf("recovered heartbeat: %w", err)
	}
	if !seq.Valid {
		return RPO{}, fmt.Errorf("recovered database holds no heartbeat of %s: replication had not reached the drill window", drillID)
	}
	flavor, err := serverFlavor(ctx, recovered, "recovered server", "")
	if err != nil {
		return RPO{}, err
	}
	rec, err := appliedPos(ctx, recovered, flavor, "recovered server")
	if err != nil {
		return RPO{}, err
	}
	return compareRPO(t0, seq.Int64, time.UnixMicro(atUS.Int64), rec)
}

func compareRPO(t0 T0, seq int64, at time.Time, rec GTIDPos) (RPO, error) {
	// T0's position is parsed in the recovered server's flavor: a MySQL T0 against a MariaDB server (or the
	// reverse) is an error, not a count.
	prim, err := ParseGTIDPos(t0.GTID)
	if rec.Flavor() != "" {
		prim, err = ParseGTIDPosFlavor(rec.Flavor(), t0.GTID)
	}
	if err != nil {
		return RPO{}, fmt.Errorf("primary gtid at T0: %w", err)
	}
	behind, err := rec.Behind(prim)
	if err != nil {
		return RPO{}, fmt.Errorf("recovered gtid against T0: %w", err)
	}
	r := RPO{T0: t0.At, LastRecovered: at.UTC(), LostBeats: t0.Seq - seq, PrimaryGTID: prim.String(),
		RecoveredGTID: rec.String(), GTIDBehind: behind}
	if r.LostBeats < 0 {
		r.LostBeats = 0
	}
	if at.Before(t0.At) {
		r.Loss = t0.At.Sub(at)
	}
	r.Consistent = r.LostBeats == 0 || r.GTIDBehind >= uint64(r.LostBeats)
	return r, nil
}
