package backup_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/backup"
)

// seedObjects creates database db with every kind of schema object: a function used by a view, a view over
// that view (created first in name order: restore must retry), a procedure, a trigger writing another
// table, an event, a view whose definer no longer exists, and a MyISAM, an Aria and a MEMORY table (each
// reported at backup time).
func seedObjects(t *testing.T, db string) {
	q := func(s string) string { return strings.ReplaceAll(s, "DB", "`"+db+"`") }
	srv.Exec(t, q("DROP DATABASE IF EXISTS DB"), q("CREATE DATABASE DB"),
		q("CREATE TABLE DB.items (id INT PRIMARY KEY, price DECIMAL(10,2), name VARCHAR(50))"),
		q("CREATE TABLE DB.audit (id INT AUTO_INCREMENT PRIMARY KEY, item INT, note VARCHAR(100))"),
		q("CREATE TABLE DB.legacy (id INT PRIMARY KEY) ENGINE=MyISAM"),
		q("CREATE TABLE DB.scratch (id INT PRIMARY KEY) ENGINE=Aria"),
		q("CREATE TABLE DB.sessions (id INT PRIMARY KEY) ENGINE=MEMORY"),
		q("INSERT INTO DB.items VALUES (1, 9.50, 'a'), (2, 20.00, 'b')"),
		q("CREATE FUNCTION DB.with_tax(p DECIMAL(10,2)) RETURNS DECIMAL(10,2) DETERMINISTIC RETURN p * 1.2"),
		q("CREATE PROCEDURE DB.add_item(IN i INT, IN n VARCHAR(50)) BEGIN INSERT INTO items VALUES (i, 1.00, n); END"),
		q("CREATE VIEW DB.priced AS SELECT id, DB.with_tax(price) AS gross FROM DB.items"),
		q("CREATE VIEW DB.cheap AS SELECT id FROM DB.priced WHERE gross < 15"),
		q("CREATE TRIGGER DB.audit_ins AFTER INSERT ON DB.items FOR EACH ROW INSERT INTO audit (item, note) VALUES (NEW.id, CONCAT('added ', NEW.name))"),
		q("CREATE EVENT DB.nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit WHERE id < 0"),
		"DROP USER IF EXISTS 'ghost'@'10.9.9.9'", "CREATE USER 'ghost'@'10.9.9.9'",
		q("CREATE DEFINER='ghost'@'10.9.9.9' SQL SECURITY DEFINER VIEW DB.ghostly AS SELECT 1 AS one"),
		"DROP USER 'ghost'@'10.9.9.9'",
	)
}

func scalar(t *testing.T, d *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := d.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// Issue 14 item 1: views, routines, triggers and events round-trip (under another database name), in an
// order that works, with a missing definer reported or replaced; every non-transactional table (MyISAM, Aria,
// MEMORY) is reported by the backup, naming table and engine.
func TestSchemaObjectsRoundTrip(t *testing.T) {
	ctx := context.Background()
	seedObjects(t, "objs")
	st, k := memStore(t), newKeys(t)
	notes := &backup.RunNotes{}
	m, err := backup.Run(ctx, backup.RunOptions{DB: srv.Open(t, ""), Store: st, Recipients: k.rcpt, Databases: []string{"objs"},
		Workers: 2, Tool: "test", Now: func() time.Time { return clock }, Notes: notes})
	if err != nil {
		t.Fatal(err)
	}
	if c := notes.Objects; c["view"] != 3 || c["function"] != 1 || c["procedure"] != 1 || c["trigger"] != 1 || c["event"] != 1 {
		t.Fatalf("objects backed up: %v", c)
	}
	if len(notes.Warnings) != 3 {
		t.Fatalf("warnings: %v, want one per non-transactional table", notes.Warnings)
	}
	for _, want := range [][2]string{{"objs.legacy", "MyISAM"}, {"objs.scratch", "Aria"}, {"objs.sessions", "MEMORY"}} {
		if !slices.ContainsFunc(notes.Warnings, func(w string) bool {
			return strings.Contains(w, want[0]) && strings.Contains(w, "non-transactional engine "+want[1])
		}) {
			t.Errorf("no warning naming %s (%s): %v", want[0], want[1], notes.Warnings)
		}
	}

	d := srv.Open(t, "")
	srv.Exec(t, "DROP DATABASE IF EXISTS objs_copy", "DROP DATABASE IF EXISTS objs_cur")
	rep, err := backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: d,
		Rename: map[string]string{"objs": "objs_copy"}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Objects) != 7 {
		t.Fatalf("restored objects: %+v", rep.Objects)
	}
	var ghost bool
	for _, o := range rep.Objects {
		if o.Name == "objs_copy.ghostly" {
			ghost = o.DefinerMissing && o.Definer == "ghost@10.9.9.9"
		} else if o.DefinerMissing {
			t.Fatalf("definer reported missing: %+v", o)
		}
	}
	if !ghost || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "ghost@10.9.9.9 does not exist") {
		t.Fatalf("missing definer not reported: %+v %v", rep.Objects, rep.Warnings)
	}
	// The views follow the rename, call the restored function, and stack.
	if got := scalar(t, d, "SELECT gross FROM objs_copy.priced WHERE id = 1"); got != "11.40" {
		t.Fatalf("view over function: %s", got)
	}
	if got := scalar(t, d, "SELECT GROUP_CONCAT(id) FROM objs_copy.cheap"); got != "1" {
		t.Fatalf("view over view: %s", got)
	}
	if def := scalar(t, d, "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'objs_copy' AND TABLE_NAME = 'priced'"); strings.Contains(def, "`objs`.") {
		t.Fatalf("restored view still reads the source database: %s", def)
	}
	// The procedure and the trigger work inside the copy only.
	if _, err := d.Exec("CALL objs_copy.add_item(3, 'c')"); err != nil {
		t.Fatal(err)
	}
	if got := scalar(t, d, "SELECT note FROM objs_copy.audit WHERE item = 3"); got != "added c" {
		t.Fatalf("trigger: %q", got)
	}
	if got := scalar(t, d, "SELECT COUNT(*) FROM objs.audit"); got != "0" {
		t.Fatalf("the copy's trigger wrote the source: %s rows", got)
	}
	if got := scalar(t, d, "SELECT CONCAT(STATUS, ' ', INTERVAL_VALUE, ' ', INTERVAL_FIELD) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'objs_copy'"); got != "DISABLED 1 DAY" {
		t.Fatalf("event: %q", got)
	}
	if _, err := d.Exec("SELECT * FROM objs_copy.ghostly"); err == nil {
		t.Fatal("a view with a missing definer worked")
	}

	// A forced restore over the copy (tables with triggers, views, routines, an event of the same names).
	rep, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: d,
		Rename: map[string]string{"objs": "objs_copy"}, Force: true, Workers: 2})
	if err != nil || len(rep.Objects) != 7 {
		t.Fatalf("forced restore over objects: %v %+v", err, rep)
	}
	if _, err := d.Exec("INSERT INTO objs_copy.items VALUES (4, 2.00, 'd')"); err != nil {
		t.Fatal(err)
	}
	if got := scalar(t, d, "SELECT GROUP_CONCAT(note) FROM objs_copy.audit"); got != "added d" {
		t.Fatalf("audit after a forced restore and one insert: %q", got)
	}
	if left := scratchLeft(t); len(left) > 0 {
		t.Fatalf("scratch schemas left: %v", left)
	}

	// --definer current: the restoring user owns every object, and the orphaned view works.
	rep, err = backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: d,
		Rename: map[string]string{"objs": "objs_cur"}, DefinerCurrent: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := scalar(t, d, "SELECT one FROM objs_cur.ghostly"); got != "1" {
		t.Fatalf("view with replaced definer: %q", got)
	}
	if got := scalar(t, d, "SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'objs_cur' AND TABLE_NAME = 'ghostly'"); got != "plinth@127.0.0.1" {
		t.Fatalf("definer after --definer current: %q", got)
	}

	// verify restores into scratch and compares every table.
	srv.Exec(t, "DROP DATABASE IF EXISTS objs_verify")
	if _, err := backup.Verify(ctx, backup.VerifyOptions{Store: st, ID: m.ID, Identities: k.ids, RestoreInto: d,
		Rename: map[string]string{"objs": "objs_verify"}}); err != nil {
		t.Fatal(err)
	}
}

// An object that cannot be created after the tables moved into place undoes the whole restore: the tables
// move back out, the objects created so far are dropped, the target is as it was.
func TestObjectFailureUndoesRestore(t *testing.T) {
	ctx := context.Background()
	seedObjects(t, "objfail")
	st, k := memStore(t), newKeys(t)
	m := runBackup(t, st, k, "objfail", clock)
	// The target has no table (so no --force is needed) but a procedure of the backup's name.
	srv.Exec(t, "DROP DATABASE IF EXISTS objfail_t", "CREATE DATABASE objfail_t",
		"CREATE PROCEDURE objfail_t.add_item(IN i INT, IN n VARCHAR(50)) SELECT 'mine'")
	d := srv.Open(t, "")
	_, err := backup.Restore(ctx, backup.RestoreOptions{Store: st, ID: m.ID, Identities: k.ids, Target: d,
		Rename: map[string]string{"objfail": "objfail_t"}, Workers: 2})
	if err == nil || !strings.Contains(err.Error(), "procedure objfail_t.add_item") || !strings.Contains(err.Error(), "objfail_t left as it was") {
		t.Fatalf("restore over a clashing procedure: %v", err)
	}
	if n := scalar(t, d, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'objfail_t'"); n != "0" {
		t.Fatalf("%s tables left in the target", n)
	}
	if n := scalar(t, d, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'objfail_t'"); n != "1" {
		t.Fatalf("%s routines in the target, want its own one", n)
	}
	if left := scratchLeft(t); len(left) > 0 {
		t.Fatalf("scratch schemas left: %v", left)
	}
}
