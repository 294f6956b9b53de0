package backup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/backup"
)

func dbExists(t *testing.T, db string) bool {
	t.Helper()
	var n int
	if err := srv.Open(t, "").QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// scratchLeft lists schemas a restore left behind.
func scratchLeft(t *testing.T) []string {
	t.Helper()
	rows, err := srv.Open(t, "").Query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", backup.ScratchPrefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// Issue 17 item 2: a restore with one bad object leaves the target as it was — a new target is never
// created, an existing one (forced restore) keeps every table and row it had — drops its scratch schemas,
// and says so. The bad object is the LAST part of the biggest table, so that with three workers every
// other table has loaded (and, before the fix, was committed into the target) when it fails.
func TestFailedRestoreLeavesTargetAsItWas(t *testing.T) {
	ctx := context.Background()
	seed(t, "atomic", 3000)
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "atomic", clock)
	var part string
	for _, tb := range m.Tables {
		if tb.Name == "users" {
			part = tb.Parts[len(tb.Parts)-1]
		}
	}
	rewrite(t, st, m.ID+"/"+part, func(b []byte) []byte { b[len(b)-40] ^= 0x10; return b })

	t.Run("new-target", func(t *testing.T) {
		srv.Exec(t, "DROP DATABASE IF EXISTS atomic_new")
		_, err := backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""),
			Rename: map[string]string{"atomic": "atomic_new"}, Workers: 3})
		if !errors.Is(err, backup.ErrTampered) || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "atomic_new left as it was") {
			t.Fatalf("restore with a bad object: %v", err)
		}
		if dbExists(t, "atomic_new") {
			t.Fatal("the failed restore left database atomic_new behind")
		}
		if left := scratchLeft(t); len(left) > 0 {
			t.Fatalf("scratch schemas left: %v", left)
		}
	})

	t.Run("forced-over-existing", func(t *testing.T) {
		seed(t, "atomic_old", 120)
		srv.Exec(t, "CREATE TABLE atomic_old.unrelated (id INT PRIMARY KEY)", "INSERT INTO atomic_old.unrelated VALUES (7)")
		before := checksums(t, "atomic_old")
		_, err := backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: srv.Open(t, ""),
			Rename: map[string]string{"atomic": "atomic_old"}, Force: true, Workers: 3})
		if err == nil || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), "atomic_old left as it was") {
			t.Fatalf("forced restore with a bad object: %v", err)
		}
		if after := checksums(t, "atomic_old"); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("target changed by a failed restore: %v -> %v", before, after)
		}
		var n int
		if err := srv.Open(t, "").QueryRow("SELECT COUNT(*) FROM atomic_old.users").Scan(&n); err != nil || n != 120 {
			t.Fatalf("atomic_old.users holds %d rows (%v), want its own 120", n, err)
		}
		if left := scratchLeft(t); len(left) > 0 {
			t.Fatalf("scratch schemas left: %v", left)
		}
	})

	t.Run("forced-intact", func(t *testing.T) {
		seed(t, "atomic", 3000)
		want := checksums(t, "atomic")
		good := runBackup(t, st, k, "atomic", clock.Add(1e9))
		rep, err := backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: good.ID, Identities: k.ids, Target: srv.Open(t, ""),
			Rename: map[string]string{"atomic": "atomic_old"}, Force: true, Workers: 3})
		if err != nil || rep.Rows != good.Rows() {
			t.Fatalf("forced restore: %+v %v", rep, err)
		}
		if got := checksums(t, "atomic_old"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("checksums %v want %v", got, want)
		}
		var x int
		if err := srv.Open(t, "").QueryRow("SELECT id FROM atomic_old.unrelated").Scan(&x); err != nil || x != 7 {
			t.Fatalf("a table the backup does not hold was touched: %d %v", x, err)
		}
		// The replaced tables went with the scratch schemas; the foreign key follows the new parent.
		if left := scratchLeft(t); len(left) > 0 {
			t.Fatalf("scratch schemas left: %v", left)
		}
		var ref string
		if err := srv.Open(t, "").QueryRow("SELECT UNIQUE_CONSTRAINT_SCHEMA FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'atomic_old' AND TABLE_NAME = 'child'").Scan(&ref); err != nil || ref != "atomic_old" {
			t.Fatalf("child's foreign key references schema %q (%v)", ref, err)
		}
	})
}
