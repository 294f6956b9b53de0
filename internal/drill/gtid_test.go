package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Source UUIDs of MySQL servers (gtid_executed lists them lowercase, sorted).
const (
	uuidA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uuidB = "8a94f357-aab4-11df-86ab-c80aa9429562"
	uuidC = "f0e1d2c3-0000-11ee-8000-000000000001"
)

func mustPos(t *testing.T, s string) GTIDPos {
	t.Helper()
	p, err := ParseGTIDPos(s)
	if err != nil {
		t.Fatalf("ParseGTIDPos(%q): %v", s, err)
	}
	return p
}

// expectErr checks err against want (a substring; "": no error expected) and reports whether the case
// ends there.
func expectErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one naming %q", err, want)
	}
	return true
}

func TestParseGTIDPos(t *testing.T) {
	for _, c := range []struct {
		name, in, flavor, want string // flavor "": by notation
		empty                  bool
		err                    string
	}{
		{name: "mariadb per-domain max, server of the newest kept", in: "0-1-42, 1-3-7,0-2-40", want: "0-1-42,1-3-7"},
		{name: "mariadb newest from another server", in: "0-1-40,0-2-42", want: "0-2-42"},
		{name: "empty", in: "", want: "", empty: true},
		{name: "blank", in: " \n", want: "", empty: true},
		{name: "mariadb empty, flavor known", in: "", flavor: mysql.MariaDBFlavor, want: "", empty: true},
		{name: "mysql empty, flavor known", in: "", flavor: mysql.MySQLFlavor, want: "", empty: true},
		{name: "mysql one source, uppercase", in: strings.ToUpper(uuidA) + ":1-5", want: uuidA + ":1-5"},
		{name: "mysql as gtid_executed prints it", in: uuidB + ":1-3,\n" + uuidA + ":1-5", want: uuidA + ":1-5," + uuidB + ":1-3"},
		{name: "mysql gaps kept", in: uuidA + ":1-5:7-9:12", want: uuidA + ":1-5:7-9:12"},
		{name: "mysql adjacent and overlapping intervals joined", in: uuidA + ":1-3:4-6:5-8", want: uuidA + ":1-8"},
		{name: "mysql one source twice", in: uuidA + ":1-3," + uuidA + ":5", want: uuidA + ":1-3:5"},
		{name: "mariadb two numbers", in: "0-1", err: "domain-server-seq"},
		{name: "mariadb letters", in: "a-1-2", err: "domain-server-seq"},
		{name: "mariadb bad seq", in: "0-1-x", err: "domain-server-seq"},
		{name: "mariadb four numbers", in: "1-2-3-4", err: "domain-server-seq"},
		{name: "mysql no interval", in: uuidA + ":", err: "source-uuid:interval"},
		{name: "mysql reversed interval", in: uuidA + ":5-3", err: "source-uuid:interval"},
		{name: "mysql bad uuid", in: "not-a-uuid:1-2", err: "source-uuid:interval"},
		{name: "mysql bad number", in: uuidA + ":1-x", err: "source-uuid:interval"},
		{name: "mysql tagged gtid (8.3+) not read", in: uuidA + ":tag:1-5", err: "source-uuid:interval"},
		{name: "mysql text read as mariadb", in: uuidA + ":1-5", flavor: mysql.MariaDBFlavor, err: "domain-server-seq"},
		{name: "mariadb text read as mysql", in: "0-1-5", flavor: mysql.MySQLFlavor, err: "source-uuid:interval"},
		{name: "unknown flavor", in: "0-1-5", flavor: "postgres", err: "unknown server flavor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p GTIDPos
			var err error
			if c.flavor == "" {
				p, err = ParseGTIDPos(c.in)
			} else {
				p, err = ParseGTIDPosFlavor(c.flavor, c.in)
			}
			if expectErr(t, err, c.err) {
				return
			}
			if p.String() != c.want || p.IsEmpty() != c.empty {
				t.Errorf("= %q (empty %v), want %q (empty %v)", p, p.IsEmpty(), c.want, c.empty)
			}
			// The server's own notation round-trips.
			if q := mustPos(t, p.String()); q.String() != p.String() {
				t.Errorf("round trip %q -> %q", p, q)
			}
		})
	}
}

func TestGTIDNotation(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "  ": "", "0-1-5": mysql.MariaDBFlavor, "0-1-5,1-2-3": mysql.MariaDBFlavor,
		uuidA + ":1-5": mysql.MySQLFlavor, uuidA + ":1-5,\n" + uuidB + ":3": mysql.MySQLFlavor,
	} {
		if got := GTIDNotation(in); got != want {
			t.Errorf("GTIDNotation(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGTIDBehind(t *testing.T) {
	for _, c := range []struct {
		name, have, want string
		behind           uint64
		err              string
	}{
		{name: "mariadb equal", have: "0-1-42", want: "0-1-42", behind: 0},
		{name: "mariadb behind in two domains", have: "0-2-30", want: "0-1-42,1-3-7", behind: 12 + 7},
		{name: "mariadb ahead", have: "0-1-50,1-3-9", want: "0-1-42,1-3-7", behind: 0},
		{name: "mariadb recovered empty", have: "", want: "0-1-42,1-3-7", behind: 49},
		{name: "mariadb primary empty", have: "0-1-5", want: "", behind: 0},
		{name: "mysql equal", have: uuidA + ":1-100", want: uuidA + ":1-100", behind: 0},
		{name: "mysql 10 behind", have: uuidA + ":1-90", want: uuidA + ":1-100", behind: 10},
		{name: "mysql a whole source missing", have: uuidA + ":1-10", want: uuidA + ":1-10," + uuidB + ":1-5", behind: 5},
		{name: "mysql gaps on both sides", have: uuidA + ":1-5:21-25", want: uuidA + ":1-10:20-30", behind: 5 + 1 + 5},
		{name: "mysql hole in the middle", have: uuidA + ":1-3:5", want: uuidA + ":1-5", behind: 1},
		{name: "mysql recovered has its own writes", have: uuidA + ":1-10," + uuidC + ":1-3", want: uuidA + ":1-10", behind: 0},
		{name: "mysql recovered empty", have: "", want: uuidA + ":1-10," + uuidB + ":1-5", behind: 15},
		{name: "mysql primary empty", have: uuidA + ":1-10", want: "", behind: 0},
		{name: "mysql several sources, each behind", have: uuidA + ":1-7," + uuidB + ":1-2", want: uuidA + ":1-10," + uuidB + ":1-5", behind: 3 + 3},
		{name: "mysql large numbers", have: uuidA + ":1-4000000000", want: uuidA + ":1-5000000000", behind: 1000000000},
		{name: "both empty", have: "", want: "", behind: 0},
		{name: "mariadb against mysql", have: "0-1-5", want: uuidA + ":1-5", err: "different servers"},
		{name: "mysql against mariadb", have: uuidA + ":1-5", want: "0-1-5", err: "different servers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			have, want := mustPos(t, c.have), mustPos(t, c.want)
			n, err := have.Behind(want)
			if expectErr(t, err, c.err) {
				if have.Contains(want) {
					t.Error("Contains across flavors")
				}
				return
			}
			if n != c.behind {
				t.Fatalf("Behind = %d; want %d", n, c.behind)
			}
			if have.Contains(want) != (c.behind == 0) {
				t.Errorf("Contains = %v with %d behind", have.Contains(want), n)
			}
			// Merging what was missing catches up; the inputs are left as they were.
			m, err := have.Merge(want)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := m.Behind(want); n != 0 || err != nil || !m.Contains(have) {
				t.Errorf("merged %s: %d behind %s (%v), contains %s: %v", m, n, want, err, have, m.Contains(have))
			}
			if have.String() != mustPos(t, c.have).String() || want.String() != mustPos(t, c.want).String() {
				t.Errorf("inputs changed: %s, %s", have, want)
			}
		})
	}
}

func TestGTIDMerge(t *testing.T) {
	for _, c := range []struct {
		name, a, b, want, err string
	}{
		{name: "mariadb per-domain max", a: "0-1-42,1-3-7", b: "0-2-30,1-4-9,2-5-1", want: "0-1-42,1-4-9,2-5-1"},
		{name: "mariadb with empty", a: "0-1-42", b: "", want: "0-1-42"},
		{name: "mysql union joins intervals", a: uuidA + ":1-5", b: uuidA + ":6-10," + uuidB + ":1", want: uuidA + ":1-10," + uuidB + ":1"},
		{name: "mysql union keeps gaps", a: uuidA + ":1-5", b: uuidA + ":8-9", want: uuidA + ":1-5:8-9"},
		{name: "mysql with empty", a: "", b: uuidA + ":1-5", want: uuidA + ":1-5"},
		{name: "empty", a: "", b: "", want: ""},
		{name: "flavors differ", a: "0-1-5", b: uuidA + ":1-5", err: "different servers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := mustPos(t, c.a), mustPos(t, c.b)
			m, err := a.Merge(b)
			if expectErr(t, err, c.err) {
				return
			}
			if err != nil || m.String() != c.want {
				t.Fatalf("Merge = %q, %v; want %q", m, err, c.want)
			}
			if r, _ := b.Merge(a); r.String() != c.want {
				t.Errorf("reversed Merge = %q", r)
			}
			if a.String() != mustPos(t, c.a).String() || b.String() != mustPos(t, c.b).String() {
				t.Errorf("inputs changed: %s, %s", a, b)
			}
		})
	}
}

// TestCompareRPOFlavors: the RPO cross-check counts MySQL transactions as it counts MariaDB ones, reports
// both positions in the server's notation, and refuses a T0 of the other flavor.
func TestCompareRPOFlavors(t *testing.T) {
	t0at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, t0, rec   string
		seq             int64 // last heartbeat recovered (T0's is 20)
		behind          uint64
		prim, recovered string
		consistent      bool
		err             string
	}{
		{name: "mariadb caught up", t0: "0-1-120", rec: "0-1-120", seq: 20, prim: "0-1-120", recovered: "0-1-120", consistent: true},
		{name: "mariadb 3 beats lost", t0: "0-1-120", rec: "0-1-117", seq: 17, behind: 3, prim: "0-1-120", recovered: "0-1-117", consistent: true},
		{name: "mysql caught up, own writes after promotion", t0: uuidA + ":1-120", rec: uuidA + ":1-120," + uuidC + ":1-2", seq: 20,
			prim: uuidA + ":1-120", recovered: uuidA + ":1-120," + uuidC + ":1-2", consistent: true},
		{name: "mysql 3 beats lost", t0: uuidA + ":1-120", rec: uuidA + ":1-117", seq: 17, behind: 3,
			prim: uuidA + ":1-120", recovered: uuidA + ":1-117", consistent: true},
		{name: "mysql beats lost but gtids say none", t0: uuidA + ":1-120", rec: uuidA + ":1-120", seq: 17,
			prim: uuidA + ":1-120", recovered: uuidA + ":1-120", consistent: false},
		{name: "mysql T0 against mariadb server", t0: uuidA + ":1-120", rec: "0-1-5", seq: 20, err: "primary gtid at T0"},
		{name: "mariadb T0 against mysql server", t0: "0-1-120", rec: uuidA + ":1-5", seq: 20, err: "primary gtid at T0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t0 := T0{Seq: 20, At: t0at, GTID: c.t0}
			lastAt := t0at.Add(-time.Duration(20-c.seq) * time.Second)
			r, err := compareRPO(t0, c.seq, lastAt, mustPos(t, c.rec))
			if expectErr(t, err, c.err) {
				return
			}
			if r.GTIDBehind != c.behind || r.PrimaryGTID != c.prim || r.RecoveredGTID != c.recovered || r.Consistent != c.consistent ||
				r.LostBeats != 20-c.seq || r.Loss != time.Duration(20-c.seq)*time.Second {
				t.Errorf("RPO = %+v", r)
			}
		})
	}
}

func TestNoGTIDsNamesTheFix(t *testing.T) {
	for flavor, want := range map[string][]string{
		mysql.MariaDBFlavor: {"primary", "@@GLOBAL.gtid_binlog_pos", "log_bin"},
		mysql.MySQLFlavor:   {"primary", "@@GLOBAL.gtid_executed", "gtid_mode=ON", "enforce_gtid_consistency=ON", "parameter group"},
	} {
		msg := noGTIDs(flavor, "primary").Error()
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not name %q", flavor, msg, w)
			}
		}
	}
}
