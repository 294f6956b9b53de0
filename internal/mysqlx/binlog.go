package mysqlx

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	gomysql "github.com/go-sql-driver/mysql"
)

// BinlogMagic starts every binlog file.
var BinlogMagic = []byte{0xfe, 'b', 'i', 'n'}

// BinlogEvent is one replicated event, as its bytes stand in a binlog file.
type BinlogEvent struct {
	Raw  []byte // header, body and checksum
	Time time.Time
	// FormatDescription: the event describing the format of those that follow (a segment starts with it).
	FormatDescription bool
	// GTID is set on the event opening a transaction ("0-1-42" on MariaDB, "uuid:42" on MySQL).
	GTID string
	// Commit marks the event closing a transaction: after it the GTID set includes the transaction.
	Commit bool
}

// BinlogStream follows the server's binlog over the replication protocol (github.com/go-mysql-org/go-mysql:
// works where there is no file access, e.g. RDS), from a GTID set, classifying transaction boundaries.
type BinlogStream struct {
	syncer   *replication.BinlogSyncer
	streamer *replication.BinlogStreamer
	Flavor   string
	set      mysql.GTIDSet // GTIDs of every transaction committed so far
	open     string        // GTID of the transaction in progress
	begun    bool          // the open transaction started with BEGIN
}

// ServerFlavor is "mariadb" or "mysql".
func ServerFlavor(ctx context.Context, db *sql.DB) (string, error) {
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return FlavorOfVersion(v), nil
}

// OpenBinlogStream connects to the server of dsn as a replica with serverID (unique among the server's
// replicas) and streams every transaction after the GTID set from. The connection takes the DSN's TLS
// configuration (tls=<registered name>) and, when dial is set, goes through it: the dialer the DSN's network
// names in the driver (an SSH channel through the bastion), which the replication client cannot look up
// itself. A DSN on a registered network without dial is refused rather than dialed directly.
func OpenBinlogStream(dsn, flavor string, serverID uint32, from string, dial func(ctx context.Context, addr string) (net.Conn, error)) (*BinlogStream, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("binlog: parse dsn: %w", err)
	}
	var dialer client.Dialer
	switch {
	case dial != nil:
		dialer = func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, addr) }
	case cfg.Net != "tcp":
		return nil, fmt.Errorf("binlog: %s: the dsn's network %q is a dialer registered with the driver: the stream needs it passed", cfg.Addr, cfg.Net)
	}
	host, portS, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("binlog: address %s: %w", cfg.Addr, err)
	}
	port, err := strconv.ParseUint(portS, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("binlog: port %s: %w", portS, err)
	}
	set, err := mysql.ParseGTIDSet(flavor, from)
	if err != nil {
		return nil, fmt.Errorf("binlog: gtid set %q: %w", from, err)
	}
	s := &BinlogStream{Flavor: flavor, set: set.Clone()}
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: serverID, Flavor: flavor, Host: host, Port: uint16(port), User: cfg.User, Password: cfg.Passwd,
		HeartbeatPeriod: 10 * time.Second, ReadTimeout: 30 * time.Second, MaxReconnectAttempts: 3,
		TLSConfig: cfg.TLS, // the DSN's (tls=<registered name>): a server requiring secure transport, RDS
		Dialer:    dialer,  // nil: net.Dialer
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	s.streamer, err = s.syncer.StartSyncGTID(set)
	if err != nil {
		s.syncer.Close()
		return nil, fmt.Errorf("binlog: %s: start from %q: %w", cfg.Addr, from, err)
	}
	return s, nil
}

// GTIDSet is the set of transactions committed so far (the position to resume from).
func (s *BinlogStream) GTIDSet() string { return s.set.String() }

// Close stops streaming.
func (s *BinlogStream) Close() { s.syncer.Close() }

// Next returns the next event that belongs in a binlog file (heartbeats and the server's artificial
// rotate events are skipped).
func (s *BinlogStream) Next(ctx context.Context) (BinlogEvent, error) {
	for {
		ev, err := s.streamer.GetEvent(ctx)
		if err != nil {
			return BinlogEvent{}, fmt.Errorf("binlog: %w", err)
		}
		h := ev.Header
		if h.EventType == replication.HEARTBEAT_EVENT || h.EventType == replication.HEARTBEAT_LOG_EVENT_V2 ||
			(h.EventType == replication.ROTATE_EVENT && h.Timestamp == 0) {
			continue
		}
		out := BinlogEvent{Raw: append([]byte(nil), ev.RawData...), Time: time.Unix(int64(h.Timestamp), 0).UTC()}
		switch e := ev.Event.(type) {
		case *replication.FormatDescriptionEvent:
			out.FormatDescription = true
		case *replication.MariadbGTIDEvent:
			s.open, s.begun = e.GTID.String(), false
			out.GTID = s.open
		case *replication.GTIDEvent:
			s.open, s.begun = hexUUID(e.SID)+":"+strconv.FormatInt(e.GNO, 10), false
			out.GTID = s.open
		case *replication.QueryEvent:
			q := strings.ToUpper(strings.TrimSpace(string(e.Query)))
			switch {
			case q == "BEGIN" || q == "XA START":
				s.begun = true
			case q == "COMMIT" || !s.begun:
				out.Commit = s.open != ""
			}
		case *replication.XIDEvent:
			out.Commit = s.open != ""
		}
		if out.Commit {
			if err := s.set.Update(s.open); err != nil {
				return BinlogEvent{}, fmt.Errorf("binlog: gtid %s: %w", s.open, err)
			}
			s.open, s.begun = "", false
		}
		return out, nil
	}
}

func hexUUID(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) != 32 {
		return h
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// GTIDContains reports whether GTID set `set` includes every transaction of `sub`.
func GTIDContains(flavor, set, sub string) (bool, error) {
	a, err := mysql.ParseGTIDSet(flavor, set)
	if err != nil {
		return false, fmt.Errorf("gtid set %q: %w", set, err)
	}
	b, err := mysql.ParseGTIDSet(flavor, sub)
	if err != nil {
		return false, fmt.Errorf("gtid set %q: %w", sub, err)
	}
	return a.Contain(b), nil
}
