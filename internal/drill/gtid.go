package drill

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// GTIDPos is a server's GTID position, in either flavor:
//   - MariaDB (mysql.MariaDBFlavor): per replication domain the highest sequence number and the server that
//     wrote it (the domain-server-seq lists of @@gtid_binlog_pos, @@gtid_current_pos, @@gtid_slave_pos);
//   - MySQL (mysql.MySQLFlavor, RDS engine "mysql"): a set of source-UUID:interval lists (@@gtid_executed),
//     held as go-mysql's MysqlGTIDSet.
//
// The zero value is the empty position, of no flavor: it combines with either.
type GTIDPos struct {
	flavor string
	maria  map[uint32]mariaSeq
	set    *mysql.MysqlGTIDSet
}

// mariaSeq is the newest transaction of one MariaDB domain.
type mariaSeq struct {
	server uint32
	seq    uint64
}

// GTIDNotation is the flavor a position string is written in: "" for the empty position, MySQL when it
// holds a ':' (source-UUID:intervals), MariaDB otherwise (domain-server-seq). The two notations do not
// overlap, so a position stored as text (T0, a backup manifest) needs no flavor beside it.
func GTIDNotation(s string) string {
	switch s = strings.TrimSpace(s); {
	case s == "":
		return ""
	case strings.Contains(s, ":"):
		return mysql.MySQLFlavor
	default:
		return mysql.MariaDBFlavor
	}
}

// ParseGTIDPos parses a position in either notation (GTIDNotation): "0-1-42,1-3-7" (MariaDB) or
// "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42:50,..." (MySQL); "" is the empty position.
func ParseGTIDPos(s string) (GTIDPos, error) {
	if GTIDNotation(s) == "" {
		return GTIDPos{}, nil
	}
	return ParseGTIDPosFlavor(GTIDNotation(s), s)
}

// ParseGTIDPosFlavor parses s as a position of flavor (what the server it was read from runs).
func ParseGTIDPosFlavor(flavor, s string) (GTIDPos, error) {
	s = strings.TrimSpace(s)
	switch flavor {
	case mysql.MariaDBFlavor:
		return parseMariaDB(s)
	case mysql.MySQLFlavor:
		set, err := mysql.ParseMysqlGTIDSet(s)
		if err != nil {
			return GTIDPos{}, fmt.Errorf("gtid set %q: want source-uuid:interval[:interval],...: %v", s, err)
		}
		return GTIDPos{flavor: flavor, set: set.(*mysql.MysqlGTIDSet)}, nil
	}
	return GTIDPos{}, fmt.Errorf("gtid %q: unknown server flavor %q (want %s or %s)", s, flavor, mysql.MariaDBFlavor, mysql.MySQLFlavor)
}

func parseMariaDB(s string) (GTIDPos, error) {
	p := GTIDPos{flavor: mysql.MariaDBFlavor, maria: map[uint32]mariaSeq{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		g, err := mysql.ParseMariadbGTID(part)
		if err != nil {
			return GTIDPos{}, fmt.Errorf("gtid %q: want domain-server-seq of numbers: %v", part, err)
		}
		if cur, ok := p.maria[g.DomainID]; !ok || g.SequenceNumber > cur.seq {
			p.maria[g.DomainID] = mariaSeq{server: g.ServerID, seq: g.SequenceNumber}
		}
	}
	return p, nil
}

// Flavor is the position's flavor ("" for the zero value).
func (p GTIDPos) Flavor() string { return p.flavor }

// IsEmpty reports whether the position holds no transaction.
func (p GTIDPos) IsEmpty() bool {
	switch p.flavor {
	case mysql.MariaDBFlavor:
		return len(p.maria) == 0
	case mysql.MySQLFlavor:
		return p.set == nil || p.set.IsEmpty()
	}
	return true
}

// sameFlavor is the flavor p and q share (an empty position takes the other's), or an error naming both.
func (p GTIDPos) sameFlavor(q GTIDPos) (string, error) {
	switch {
	case p.IsEmpty():
		return q.flavor, nil
	case q.IsEmpty(), p.flavor == q.flavor:
		return p.flavor, nil
	}
	return "", fmt.Errorf("gtid positions of different servers: %s (%s) and %s (%s)", p, p.flavor, q, q.flavor)
}

// Merge is the position holding every transaction of p and of q: the per-domain maximum (MariaDB), the
// union of the sets (MySQL). It does not change p or q.
func (p GTIDPos) Merge(q GTIDPos) (GTIDPos, error) {
	flavor, err := p.sameFlavor(q)
	if err != nil {
		return GTIDPos{}, err
	}
	switch flavor {
	case mysql.MariaDBFlavor:
		out := GTIDPos{flavor: flavor, maria: map[uint32]mariaSeq{}}
		for _, m := range []map[uint32]mariaSeq{p.maria, q.maria} {
			for d, s := range m {
				if cur, ok := out.maria[d]; !ok || s.seq > cur.seq {
					out.maria[d] = s
				}
			}
		}
		return out, nil
	case mysql.MySQLFlavor:
		out := &mysql.MysqlGTIDSet{Sets: map[string]*mysql.UUIDSet{}}
		for _, x := range []GTIDPos{p, q} {
			if x.set != nil {
				// Clone: AddSet keeps the pointers it is given.
				_ = out.Add(*x.set.Clone().(*mysql.MysqlGTIDSet))
			}
		}
		return GTIDPos{flavor: flavor, set: out}, nil
	}
	return GTIDPos{}, nil
}

// Behind counts the transactions of want that p lacks: per MariaDB domain, how far p's sequence number is
// below want's; for MySQL, the size of want minus p (every interval of every source UUID).
func (p GTIDPos) Behind(want GTIDPos) (uint64, error) {
	flavor, err := p.sameFlavor(want)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch flavor {
	case mysql.MariaDBFlavor:
		for d, w := range want.maria {
			if h := p.maria[d]; h.seq < w.seq {
				n += w.seq - h.seq
			}
		}
	case mysql.MySQLFlavor:
		if want.set == nil {
			return 0, nil
		}
		missing := want.set.Clone().(*mysql.MysqlGTIDSet)
		if p.set != nil {
			_ = missing.Minus(*p.set.Clone().(*mysql.MysqlGTIDSet))
		}
		for _, u := range missing.Sets {
			for _, in := range u.Intervals {
				n += uint64(in.Stop - in.Start)
			}
		}
	}
	return n, nil
}

// Contains reports whether p holds every transaction of q (of the same flavor, or either empty).
func (p GTIDPos) Contains(q GTIDPos) bool {
	n, err := p.Behind(q)
	return err == nil && n == 0
}

// String writes the position in its server's notation: MariaDB's domain-server-seq list, domains sorted;
// MySQL's source-uuid:intervals list, sources sorted; "" when empty.
func (p GTIDPos) String() string {
	switch p.flavor {
	case mysql.MariaDBFlavor:
		ds := make([]uint32, 0, len(p.maria))
		for d := range p.maria {
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = fmt.Sprintf("%d-%d-%d", d, p.maria[d].server, p.maria[d].seq)
		}
		return strings.Join(parts, ",")
	case mysql.MySQLFlavor:
		if p.IsEmpty() {
			return ""
		}
		return p.set.String()
	}
	return ""
}
