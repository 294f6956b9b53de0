package mysqlx_test

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

var srv *mysqltest.Server

func TestMain(m *testing.M) { mysqltest.Main(m, mysqltest.Options{BufferPool: "128M"}, &srv) }

func TestEncodeRow(t *testing.T) {
	got := mysqlx.EncodeRow(nil, []sql.RawBytes{sql.RawBytes("a\tb"), nil, sql.RawBytes("x\\y\nz\x00"), sql.RawBytes{}})
	want := "a\\tb\t\\N\tx\\\\y\\nz\\0\t\n"
	if string(got) != want {
		t.Fatalf("EncodeRow = %q, want %q", got, want)
	}
}

func TestSplitSecondaryIndexes(t *testing.T) {
	create := "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `b` varchar(10) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `ub` (`b`),\n  KEY `ia` (`a`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	base, adds := mysqlx.SplitSecondaryIndexes(create)
	wantBase := "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `b` varchar(10) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	if base != wantBase {
		t.Fatalf("base:\n%s\nwant:\n%s", base, wantBase)
	}
	if strings.Join(adds, "|") != "ADD UNIQUE KEY `ub` (`b`)|ADD KEY `ia` (`a`)" {
		t.Fatalf("adds = %q", adds)
	}
	if got := mysqlx.AlterAddIndexes("d", "t", adds); got != "ALTER TABLE `d`.`t` ADD UNIQUE KEY `ub` (`b`), ADD KEY `ia` (`a`)" {
		t.Fatalf("alter = %s", got)
	}
	fk := "CREATE TABLE `c` (\n  `id` int NOT NULL,\n  `p` int,\n  KEY `p` (`p`),\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `t` (`id`)\n) ENGINE=InnoDB"
	if b, a := mysqlx.SplitSecondaryIndexes(fk); b != fk || a != nil {
		t.Fatalf("foreign key table was split")
	}
	noKeys := "CREATE TABLE `n` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
	if b, a := mysqlx.SplitSecondaryIndexes(noKeys); b != noKeys || a != nil {
		t.Fatalf("table without keys changed")
	}
}

func TestRedact(t *testing.T) {
	got := mysqlx.Redact("u:s3cret@tcp(127.0.0.1:3306)/app?parseTime=true")
	if strings.Contains(got, "s3cret") || got != "u@tcp(127.0.0.1:3306)/app" {
		t.Fatalf("Redact = %q", got)
	}
}

const tricky = `CREATE TABLE src.tricky (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  s VARCHAR(100) CHARACTER SET utf8mb4,
  l VARCHAR(50) CHARACTER SET latin1,
  b BLOB,
  d DECIMAL(20,6),
  f FLOAT,
  g DOUBLE,
  ts TIMESTAMP NULL,
  dt DATETIME(6),
  j JSON,
  e ENUM('x','y'),
  gen INT AS (id * 2) VIRTUAL,
  KEY ks (s)
) ENGINE=InnoDB`

func TestDumpLoadRoundTripRealServer(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS src", "DROP DATABASE IF EXISTS dst", "CREATE DATABASE src", tricky,
		`INSERT INTO src.tricky (id,s,l,b,d,f,g,ts,dt,j,e) VALUES
		 (0,'zero id','a',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL),
		 (5,'tab\there\nnewline\\back','café',X'00090A5C0D4E',-12345.678901,1.1,3.141592653589793,'2026-01-02 03:04:05','2026-01-02 03:04:05.123456','{"a":[1,2]}','y'),
		 (6,'emoji 🚀','',X'',0,0,-0,'1970-01-02 00:00:00','9999-12-31 23:59:59.999999','null','x'),
		 (7,'\\N literal',NULL,X'FF00FF',99999999999999.999999,-3.4e38,1e-300,NULL,NULL,'[]',NULL)`)
	db := srv.Open(t, "")
	snap, err := mysqlx.BeginSnapshot(ctx, db, srv.DSN(""), []string{"src"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if snap.Position.BinlogFile == "" || snap.Position.GTID == "" {
		t.Errorf("position = %+v, want binlog file and GTID", snap.Position)
	}
	if len(snap.Tables) != 1 || strings.Join(snap.Tables[0].Columns, ",") != "id,s,l,b,d,f,g,ts,dt,j,e" {
		t.Fatalf("tables = %+v", snap.Tables)
	}
	if snap.Reader != "protocol" {
		t.Fatalf("reader = %q, want protocol", snap.Reader)
	}
	tab := snap.Tables[0]
	var buf bytes.Buffer
	n, sum, err := snap.DumpTable(ctx, 1, tab, func(line []byte) error { buf.Write(line); return nil })
	if err != nil || n != 4 {
		t.Fatalf("dump: n=%d err=%v", n, err)
	}
	base, adds := mysqlx.SplitSecondaryIndexes(tab.CreateSQL)
	srv.Exec(t, snap.Databases[0].CreateSQL("dst"))
	l, err := mysqlx.NewLoader(ctx, db, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Exec(ctx, "USE `dst`"); err != nil {
		t.Fatal(err)
	}
	if err := l.Exec(ctx, base); err != nil {
		t.Fatal(err)
	}
	loaded, err := l.Load(ctx, "dst", "tricky", tab.Columns, bytes.NewReader(buf.Bytes()))
	if err != nil || loaded != 4 {
		t.Fatalf("load: %d, %v", loaded, err)
	}
	if err := l.Exec(ctx, mysqlx.AlterAddIndexes("dst", "tricky", adds)); err != nil {
		t.Fatal(err)
	}
	dst := tab
	dst.Schema = "dst"
	n2, sum2, err := mysqlx.HashTable(ctx, db, dst)
	if err != nil || n2 != n || sum2 != sum {
		t.Fatalf("restored hash: n=%d sum=%x err=%v, want n=%d sum=%x", n2, sum2, err, n, sum)
	}
	var gen int
	if err := db.QueryRow("SELECT gen FROM dst.tricky WHERE id=7").Scan(&gen); err != nil || gen != 14 {
		t.Fatalf("generated column = %d, %v", gen, err)
	}
	// CHECKSUM TABLE agrees too (same definition, same rows).
	var name string
	var c1, c2 int64
	db.QueryRow("CHECKSUM TABLE src.tricky").Scan(&name, &c1)
	db.QueryRow("CHECKSUM TABLE dst.tricky").Scan(&name, &c2)
	if c1 != c2 || c1 == 0 {
		t.Fatalf("CHECKSUM TABLE src=%d dst=%d", c1, c2)
	}
}

func TestSnapshotIsConsistentAcrossWorkers(t *testing.T) {
	ctx := context.Background()
	srv.Exec(t, "DROP DATABASE IF EXISTS cons", "CREATE DATABASE cons",
		"CREATE TABLE cons.a (id INT PRIMARY KEY)", "CREATE TABLE cons.b (id INT PRIMARY KEY)",
		"INSERT INTO cons.a VALUES (1),(2)", "INSERT INTO cons.b VALUES (1)")
	db := srv.Open(t, "")
	snap, err := mysqlx.BeginSnapshot(ctx, db, srv.DSN(""), []string{"cons"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	srv.Exec(t, "INSERT INTO cons.a VALUES (3)", "INSERT INTO cons.b VALUES (2),(3)")
	for i, want := range []int64{2, 1} {
		n, _, err := snap.DumpTable(ctx, i, snap.Tables[i], func([]byte) error { return nil })
		if err != nil || n != want {
			t.Fatalf("worker %d table %s: %d rows (%v), want %d from the snapshot", i, snap.Tables[i], n, err, want)
		}
	}
}

func TestBeginSnapshotMissingDatabase(t *testing.T) {
	db := srv.Open(t, "")
	if _, err := mysqlx.BeginSnapshot(context.Background(), db, "", []string{"nope"}, 1); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v", err)
	}
}
