package drill_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/drill"
)

// TestReplicaSourceMatchesThePrimaryAtOneGTID: on a real chain (primary -> DR replica -> drill server) with
// production still writing during the data step, the drill database is promoted at exactly the GTID of a
// consistent snapshot of the primary, and every table's rows and backup-engine hash match the primary's
// there; the report says what was compared. Without the primary the step compares nothing, as before.
func TestReplicaSourceMatchesThePrimaryAtOneGTID(t *testing.T) {
	pdb, rdb := open(t, primary), open(t, replica)
	startReplication(t, rdb)
	ctx := context.Background()
	exec(t, pdb, "DROP DATABASE IF EXISTS drillmatch", "CREATE DATABASE drillmatch",
		"CREATE TABLE drillmatch.orders (id INT PRIMARY KEY AUTO_INCREMENT, total INT, note VARCHAR(40))",
		"INSERT INTO drillmatch.orders (total, note) SELECT seq, CONCAT('o', seq) FROM drillmatch.seq_1_to_2000")

	m, _ := drillServer(t, "33")
	id := "drill-20261203T110000Z"
	t0 := markT0(t, pdb, id)
	// Production keeps serving (and writing) through the drill.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_, _ = pdb.Exec("INSERT INTO drillmatch.orders (total, note) VALUES (1, 'during the drill')")
			}
		}
	}()
	src := &drill.ReplicaSource{DB: m, Primary: pdb, CatchUp: time.Minute}
	rec, err := src.Recover(ctx, drill.Plan{ID: id}, t0)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	tm := rec.Tables
	if tm == nil || tm.Skipped != "" || len(tm.Mismatch) != 0 || tm.GTID == "" || tm.Tables < 2 || tm.Rows < 2000 {
		t.Fatalf("tables: %+v", tm)
	}
	// Promoted at exactly the snapshot's position: its replicated position is the snapshot's GTID.
	var pos string
	if err := m.Server.QueryRow("SELECT @@gtid_slave_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	want, _ := drill.ParseGTIDPos(tm.GTID)
	got, _ := drill.ParseGTIDPos(pos)
	b1, err1 := got.Behind(want)
	b2, err2 := want.Behind(got)
	if b1 != 0 || b2 != 0 || err1 != nil || err2 != nil {
		t.Errorf("drill database at %s, the primary's snapshot at %s", pos, tm.GTID)
	}
	var more int
	if err := pdb.QueryRow("SELECT COUNT(*) FROM drillmatch.orders").Scan(&more); err != nil || int64(more) <= 2000 {
		t.Errorf("production wrote nothing during the drill (%d rows, %v): the test proves nothing", more, err)
	}

	// No primary: nothing compared (the report has no tables).
	m2, _ := drillServer(t, "34")
	t0b := markT0(t, pdb, id+"b")
	rec2, err := (&drill.ReplicaSource{DB: m2, CatchUp: time.Minute}).Recover(ctx, drill.Plan{ID: id + "b"}, t0b)
	if err != nil || rec2.Tables != nil {
		t.Errorf("without the primary: %+v %v", rec2.Tables, err)
	}
}

// TestCompareSumsNamesWhatDiffers: a table missing on the drill side, or with other rows or another hash, is
// named; tables only the drill side has are not the source's business.
func TestCompareSumsNamesWhatDiffers(t *testing.T) {
	src := map[string]drill.TableSum{"app.a": {Rows: 3, Hash: 7}, "app.b": {Rows: 2, Hash: 9}, "app.c": {Rows: 1, Hash: 1}}
	dr := map[string]drill.TableSum{"app.a": {Rows: 3, Hash: 7}, "app.b": {Rows: 2, Hash: 8}, "app.extra": {Rows: 5, Hash: 5}}
	m := drill.CompareSums("production's primary", "0-1-9", src, dr)
	if m.Tables != 3 || m.Rows != 6 || len(m.Mismatch) != 2 ||
		!strings.HasPrefix(m.Mismatch[0], "app.b: 2 rows") || m.Mismatch[1] != "app.c: missing on the drill database" {
		t.Fatalf("%+v", m)
	}
	if err := m.Err("drill-db"); err == nil || !strings.Contains(err.Error(), "app.c") || !strings.Contains(err.Error(), "0-1-9") {
		t.Errorf("err %v", err)
	}
	if ok := drill.CompareSums("x", "0-1-9", src, src); ok.Err("drill-db") != nil || len(ok.Mismatch) != 0 {
		t.Errorf("identical: %+v", ok)
	}
}
