package mysqlx_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// dumpAll dumps every table of database name through a snapshot opened with dsn, returning the lines,
// the per-table hashes and how the workers read.
func dumpAll(t *testing.T, dsn, name string) (string, []uint64, string) {
	t.Helper()
	ctx := context.Background()
	snap, err := mysqlx.BeginSnapshot(ctx, srv.Open(t, ""), dsn, []string{name}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var buf bytes.Buffer
	var sums []uint64
	for _, tab := range snap.Tables {
		_, sum, err := snap.DumpTable(ctx, 0, tab, func(line []byte) error { buf.Write(line); return nil })
		if err != nil {
			t.Fatalf("dump %s (%s): %v", tab, snap.Reader, err)
		}
		sums = append(sums, sum)
	}
	return buf.String(), sums, snap.Reader
}

// The protocol-level reader writes every type exactly as the driver path does: integers the server pads
// (ZEROFILL, YEAR) or that sit at the ends of their ranges, floats Go reformats, bytes that need escaping,
// a value spanning several 16 MiB packets.
func TestWireRowsEqualDriverRows(t *testing.T) {
	srv.Exec(t, "DROP DATABASE IF EXISTS wire", "CREATE DATABASE wire",
		`CREATE TABLE wire.types (id BIGINT UNSIGNED PRIMARY KEY, z INT(6) UNSIGNED ZEROFILL, zb BIGINT(12) UNSIGNED ZEROFILL,
		  y YEAR, ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, f FLOAT, d DOUBLE, dec1 DECIMAL(30,10),
		  bt BIT(10), tm TIME(3), dt DATE, s VARCHAR(40), b VARBINARY(40), e SET('a','b'), js JSON) ENGINE=InnoDB`,
		`INSERT INTO wire.types VALUES
		 (18446744073709551615, 42, 7, 0, -128, -32768, -8388608, -2147483648, -9223372036854775808, 0.1, 0.1, -1.5, b'1010', '-838:59:59.000', '2026-12-03', 'a\tb\nc\\d', X'00FF5C090A', 'a,b', '{"k": 1}'),
		 (0, 0, 0, 2026, 127, 32767, 8388607, 2147483647, 9223372036854775807, 3.4e38, 1e308, 12345678901234567890.0123456789, b'0', '00:00:00', '1000-01-01', '', X'', '', 'null'),
		 (1, NULL, NULL, NULL, 0, 0, 0, 0, 0, -1.17549e-38, -2.2250738585072014e-308, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		 (2, 1, 1, 1999, 1, 1, 1, 1, 1, 123456789, 1234567890123456789, 1, b'1', '1:2:3', '2000-02-29', 'x', 'y', 'b', '[]')`,
		`CREATE TABLE wire.big (id INT PRIMARY KEY, v LONGBLOB) ENGINE=InnoDB`,
		`INSERT INTO wire.big VALUES (1, REPEAT('ab\tc', 4400000)), (2, 'small')`)
	wire, wireSums, reader := dumpAll(t, srv.DSN(""), "wire")
	if reader != "protocol" {
		t.Fatalf("reader = %q, want protocol", reader)
	}
	drv, drvSums, reader := dumpAll(t, "", "wire")
	if !strings.HasPrefix(reader, "driver") {
		t.Fatalf("reader = %q, want driver", reader)
	}
	if wire != drv {
		wl, dl := strings.Split(wire, "\n"), strings.Split(drv, "\n")
		for i := range min(len(wl), len(dl)) {
			if wl[i] != dl[i] {
				t.Fatalf("line %d differs:\nprotocol: %.200q\ndriver:   %.200q", i+1, wl[i], dl[i])
			}
		}
		t.Fatalf("dumps differ: %d vs %d lines", len(wl), len(dl))
	}
	if len(wire) < 17<<20 || !strings.Contains(wire, "18446744073709551615\t42\t7\t0\t-128\t") {
		t.Fatalf("dump (%d bytes) lacks the big value or the zero-filled integers: %.200q", len(wire), wire)
	}
	for i := range wireSums {
		if wireSums[i] != drvSums[i] {
			t.Fatalf("table %d: hash %x (protocol) != %x (driver)", i, wireSums[i], drvSums[i])
		}
	}
}

// A DSN whose network is a dialer registered with the driver (an SSH channel through the bastion) is read
// through the driver, and says so.
func TestWireFallsBackToDriverForRegisteredDialer(t *testing.T) {
	mysql.RegisterDialContext("wire-test", func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	cfg, err := mysql.ParseDSN(srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Net = "wire-test"
	srv.Exec(t, "DROP DATABASE IF EXISTS wirefb", "CREATE DATABASE wirefb", "CREATE TABLE wirefb.t (id INT PRIMARY KEY)", "INSERT INTO wirefb.t VALUES (1),(2)")
	lines, _, reader := dumpAll(t, cfg.FormatDSN(), "wirefb")
	if !strings.HasPrefix(reader, "driver: wire-test") || lines != "1\n2\n" {
		t.Fatalf("reader %q, lines %q", reader, lines)
	}
}

// A server error in the middle of a protocol-level session is returned, and the connection stays usable.
func TestWireServerErrorKeepsSession(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS wireerr", "CREATE DATABASE wireerr", "CREATE TABLE wireerr.t (id INT PRIMARY KEY)", "INSERT INTO wireerr.t VALUES (7)")
	snap, err := mysqlx.BeginSnapshot(ctx, srv.Open(t, ""), srv.DSN(""), []string{"wireerr"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	bad := snap.Tables[0]
	bad.Columns = []string{"nope"}
	if _, _, err := snap.DumpTable(ctx, 0, bad, func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want the server's unknown column error", err)
	}
	var got string
	if _, _, err := snap.DumpTable(ctx, 0, snap.Tables[0], func(l []byte) error { got += string(l); return nil }); err != nil || got != "7\n" {
		t.Fatalf("after the error: %q, %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := snap.DumpTable(cctx, 0, snap.Tables[0], func([]byte) error { return nil }); err == nil {
		t.Fatal("dump with a cancelled context succeeded")
	}
}

// A failing emit ends the dump at once (the rest of the table is not read) and gives up the session.
func TestWireEmitErrorAbandonsSession(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS wireemit", "CREATE DATABASE wireemit", "CREATE TABLE wireemit.t (id INT PRIMARY KEY)",
		"INSERT INTO wireemit.t SELECT seq FROM wireemit.seq_1_to_50000")
	snap, err := mysqlx.BeginSnapshot(ctx, srv.Open(t, ""), srv.DSN(""), []string{"wireemit"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	boom := errors.New("store failed")
	calls := 0
	if _, _, err := snap.DumpTable(ctx, 0, snap.Tables[0], func([]byte) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err = %v after %d lines, want the emit error after 1", err, calls)
	}
	if _, _, err := snap.DumpTable(ctx, 0, snap.Tables[0], func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Fatalf("second dump on the abandoned session: %v", err)
	}
}
