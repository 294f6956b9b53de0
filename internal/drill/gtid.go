package drill

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// GTIDPos is a MariaDB GTID position: per replication domain, the highest sequence number (the
// domain-server-seq list of @@gtid_binlog_pos / @@gtid_current_pos / @@gtid_slave_pos).
type GTIDPos map[uint32]uint64

// ParseGTIDPos parses "0-1-42,1-3-7" ("" is the empty position).
func ParseGTIDPos(s string) (GTIDPos, error) {
	pos := GTIDPos{}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, "-")
		if len(f) != 3 {
			return nil, fmt.Errorf("gtid %q: want domain-server-seq", part)
		}
		d, err1 := strconv.ParseUint(f[0], 10, 32)
		_, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("gtid %q: want domain-server-seq of numbers", part)
		}
		if n > pos[uint32(d)] {
			pos[uint32(d)] = n
		}
	}
	return pos, nil
}

// Merge returns the per-domain maximum of p and q.
func (p GTIDPos) Merge(q GTIDPos) GTIDPos {
	out := GTIDPos{}
	for d, n := range p {
		out[d] = n
	}
	for d, n := range q {
		if n > out[d] {
			out[d] = n
		}
	}
	return out
}

// Behind counts the transactions of want (per domain) that have not reached p.
func (p GTIDPos) Behind(want GTIDPos) uint64 {
	var n uint64
	for d, w := range want {
		if h := p[d]; h < w {
			n += w - h
		}
	}
	return n
}

// String formats the position as domain-seq pairs, domains sorted (server ids are not kept).
func (p GTIDPos) String() string {
	ds := make([]int, 0, len(p))
	for d := range p {
		ds = append(ds, int(d))
	}
	sort.Ints(ds)
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%d:%d", d, p[uint32(d)])
	}
	return strings.Join(parts, ",")
}
