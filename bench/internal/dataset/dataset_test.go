package dataset

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// TestGenerate fills a small data set on a real mariadbd (root on its socket, as the benches do), checks the
// counts, that a second call reuses it, that a different shape regenerates it and that SameChecksums tells
// a copy from a changed table.
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	srv, err := mysqltest.Start(ctx, mysqltest.Options{BufferPool: "64M"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	db, err := sql.Open("mysql", "root@unix("+srv.Socket()+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out bytes.Buffer
	if err := Generate(ctx, db, "ds", Uniform(300), &out); err != nil {
		t.Fatal(err)
	}
	count := func(dbName, table string) int {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+dbName+"`.`"+table+"`").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tb := range tables {
		if n := count("ds", tb.Name); n != 300 {
			t.Errorf("%s: %d rows, want 300", tb.Name, n)
		}
	}
	out.Reset()
	if err := Generate(ctx, db, "ds", Uniform(300), &out); err != nil || !strings.Contains(out.String(), "reusing") {
		t.Fatalf("second Generate: %v, %q", err, out.String())
	}
	if err := Generate(ctx, db, "ds2", [4]int{40, 10, 10, 10}, &out); err != nil {
		t.Fatal(err)
	}
	if n := count("ds2", "events"); n != 40 {
		t.Fatalf("ds2.events: %d rows, want 40", n)
	}
	if err := Generate(ctx, db, "copy", Uniform(300), &out); err != nil {
		t.Fatal(err)
	}
	if err := SameChecksums(ctx, db, "ds", "copy"); err != nil {
		t.Fatalf("identical data sets: %v", err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE copy.orders SET amount = amount + 1 WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	if err := SameChecksums(ctx, db, "ds", "copy"); err == nil || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("a changed row: %v", err)
	}
	if !strings.Contains(TableList(), "audit_log") {
		t.Fatalf("TableList: %s", TableList())
	}
}
