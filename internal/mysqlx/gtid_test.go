package mysqlx_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/plinth-dev/plinth/internal/goldentest"
	"github.com/plinth-dev/plinth/internal/mysqlx"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestGTIDSQLGolden: the statement each flavor gets for every GTID read and wait the drill makes.
func TestGTIDSQLGolden(t *testing.T) {
	var b strings.Builder
	for _, f := range []string{mysql.MariaDBFlavor, mysql.MySQLFlavor} {
		fmt.Fprintf(&b, "%s\n", f)
		fmt.Fprintf(&b, "  binlog position:  SELECT %s\n", mysqlx.BinlogGTIDVar(f))
		fmt.Fprintf(&b, "  applied position: SELECT %s\n", strings.Join(mysqlx.AppliedGTIDVars(f), ", "))
		fmt.Fprintf(&b, "  wait:             %s\n", mysqlx.WaitGTIDSQL(f))
		for _, d := range []time.Duration{0, 250 * time.Millisecond, 1500 * time.Millisecond, 5 * time.Minute} {
			fmt.Fprintf(&b, "    timeout for %-6s %g\n", d.String()+":", mysqlx.WaitGTIDSeconds(f, d))
		}
		fmt.Fprintf(&b, "  replica status:   %s\n", mysqlx.ReplicaStatusSQL(f))
		for _, rds := range []bool{false, true} {
			if rds && f == mysql.MariaDBFlavor {
				continue
			}
			pos := "0-1-42,1-3-7"
			if f == mysql.MySQLFlavor {
				pos = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-77"
			}
			until, err := mysqlx.ReplicateUntilSQL(f, rds, pos)
			fmt.Fprintf(&b, "  rds %-5v stop: %s; until %s: %s %v; start: %s\n", rds, mysqlx.StopReplicaSQL(f, rds), pos, until, err, mysqlx.StartReplicaSQL(f, rds))
		}
	}
	goldentest.Check(t, *update, "gtid-sql.golden", b.String())
}

func TestFlavorOfVersion(t *testing.T) {
	for v, want := range map[string]string{
		"10.11.6-MariaDB-0+deb12u1-log": mysql.MariaDBFlavor,
		"5.5.5-10.6.12-MariaDB":         mysql.MariaDBFlavor, // as MariaDB greets old clients
		"10.6.14-mariadb":               mysql.MariaDBFlavor,
		"8.0.35":                        mysql.MySQLFlavor, // RDS MySQL
		"8.0.mysql_aurora.3.05.2":       mysql.MySQLFlavor,
		"8.4.3-log":                     mysql.MySQLFlavor,
	} {
		if got := mysqlx.FlavorOfVersion(v); got != want {
			t.Errorf("FlavorOfVersion(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestNormalizeReplicaStatus(t *testing.T) {
	mysql8 := map[string]string{"Replica_IO_Running": "Yes", "Replica_SQL_Running": "No", "Source_Host": "db.dr",
		"Source_Port": "3306", "Last_IO_Error": "", "Last_SQL_Error": "Error 1062", "Seconds_Behind_Source": "0",
		"Relay_Source_Log_File": "mysql-bin.000007"}
	got := mysqlx.NormalizeReplicaStatus(mysql8)
	for k, want := range map[string]string{"Slave_IO_Running": "Yes", "Slave_SQL_Running": "No", "Master_Host": "db.dr",
		"Master_Port": "3306", "Last_SQL_Error": "Error 1062", "Replica_IO_Running": "Yes", "Seconds_Behind_Master": "0",
		"Relay_Master_Log_File": "mysql-bin.000007"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	// MariaDB's own names stay, and a Slave_ column already there is not overwritten.
	maria := map[string]string{"Slave_IO_Running": "Yes", "Master_Host": "a", "Replica_Note": "x", "Slave_Note": "own"}
	got = mysqlx.NormalizeReplicaStatus(maria)
	if got["Slave_IO_Running"] != "Yes" || got["Master_Host"] != "a" || got["Slave_Note"] != "own" || len(got) != 4 {
		t.Errorf("mariadb status = %v", got)
	}
}

// TestGTIDReadsRealServer: the MariaDB statements run on a real mariadbd (there is no MySQL server here: the
// MySQL statements are checked by the golden file above).
func TestGTIDReadsRealServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv.Exec(t, "CREATE DATABASE IF NOT EXISTS gtidt", "CREATE TABLE IF NOT EXISTS gtidt.t (id INT PRIMARY KEY)",
		"REPLACE INTO gtidt.t VALUES (1)")
	db := srv.Open(t, "")
	flavor, err := mysqlx.ServerFlavor(ctx, db)
	if err != nil || flavor != mysql.MariaDBFlavor {
		t.Fatalf("flavor = %q, %v", flavor, err)
	}
	pos, err := mysqlx.CurrentGTID(ctx, db, flavor)
	if err != nil || !strings.HasPrefix(pos, "0-1-") {
		t.Fatalf("binlog position = %q, %v: want domain 0, server 1", pos, err)
	}
	applied, err := mysqlx.AppliedGTID(ctx, db, flavor)
	if err != nil || len(applied) != 2 || applied[0] != pos {
		t.Fatalf("applied = %q, %v: want [current_pos slave_pos] with current_pos %s", applied, err, pos)
	}
	if st, err := mysqlx.ReplicaStatus(ctx, db, flavor); err != nil || st != nil {
		t.Errorf("replica status of a primary = %v, %v: want nil", st, err)
	}
	// The empty position is reached at once; one past what a server replicated is not.
	if err := mysqlx.WaitGTID(ctx, db, flavor, "", time.Second); err != nil {
		t.Errorf("wait for the empty position: %v", err)
	}
	start := time.Now()
	err = mysqlx.WaitGTID(ctx, db, flavor, "0-1-999999999", 300*time.Millisecond)
	if !errors.Is(err, mysqlx.ErrGTIDWaitTimeout) || time.Since(start) > 10*time.Second {
		t.Errorf("wait for an unreached position: %v after %s, want a timeout", err, time.Since(start))
	}
	if err := mysqlx.WaitGTID(ctx, db, flavor, "not a gtid", time.Second); err == nil || !strings.Contains(err.Error(), "not a gtid") {
		t.Errorf("bad position: %v, want an error naming it", err)
	}
	// The MySQL statements are refused by MariaDB: the error names the variable.
	if _, err := mysqlx.CurrentGTID(ctx, db, mysql.MySQLFlavor); err == nil || !strings.Contains(err.Error(), "gtid_executed") {
		t.Errorf("gtid_executed on mariadb: %v, want an error naming it", err)
	}
}

// TestReplicateUntilRefusesWhatItCannotStopAt: RDS stops at one GTID, so a set of several servers or with
// gaps is refused naming why; bad or empty positions are refused in every flavor.
func TestReplicateUntilRefusesWhatItCannotStopAt(t *testing.T) {
	for _, tc := range []struct {
		flavor string
		rds    bool
		pos    string
		want   string
	}{
		{mysql.MySQLFlavor, true, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3", "2 servers"},
		{mysql.MySQLFlavor, true, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7-9", "gaps"},
		{mysql.MySQLFlavor, false, "not-a-set", "not-a-set"},
		{mysql.MariaDBFlavor, false, "0-1", "0-1"},
		{mysql.MariaDBFlavor, false, " ", "empty"},
	} {
		if _, err := mysqlx.ReplicateUntilSQL(tc.flavor, tc.rds, tc.pos); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s rds=%v %q: %v, want an error naming %q", tc.flavor, tc.rds, tc.pos, err, tc.want)
		}
	}
}
