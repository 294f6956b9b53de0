package live

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNextCalendar(t *testing.T) {
	now := time.Date(2026, 12, 3, 7, 20, 30, 0, time.UTC) // a Thursday
	for _, tc := range []struct{ expr, want string }{
		{"minutely", "2026-12-03T07:21:00Z"},
		{"hourly", "2026-12-03T08:00:00Z"},
		{"daily", "2026-12-04T00:00:00Z"},
		{"weekly", "2026-12-07T00:00:00Z"},
		{"*-*-* 03:15:00 UTC", "2026-12-04T03:15:00Z"},
		{"*-*-* 07:20:30 UTC", "2026-12-04T07:20:30Z"}, // strictly after now
		{"*-*-* 9:05 UTC", "2026-12-03T09:05:00Z"},
	} {
		got, err := nextCalendar(tc.expr, now)
		if err != nil || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{"Mon *-*-* 00:00", "*-*-* 25:00 UTC", "*-*-* 10:61", ""} {
		if _, err := nextCalendar(bad, now); err == nil || !strings.Contains(err.Error(), "OnCalendar") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

// TestVaultRoutesFollowEgressRules: only a host whose groups allow HTTPS out to the vault's address, on the
// edge's VPC, gets a route, and only to the vault's /32.
func TestVaultRoutesFollowEgressRules(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	p := &Platform{edgeVPC: "main", state: State{Groups: []SecurityGroup{
		{ID: "sg-worker", Egress: []Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: any4}}},
		{ID: "sg-db", Egress: []Rule{{Protocol: "tcp", FromPort: 3306, ToPort: 3306, Group: "sg-worker"}}},
		{ID: "sg-narrow", Egress: []Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: netip.MustParsePrefix("10.0.0.0/8")}}},
		{ID: "sg-range", Egress: []Rule{{Protocol: "tcp", FromPort: 1, ToPort: 1024, CIDR: netip.MustParsePrefix("198.51.100.0/24")}}},
	}}}
	for _, tc := range []struct {
		h    Host
		want int
	}{
		{Host{VPC: "main", Groups: []string{"sg-worker"}}, 1},
		{Host{VPC: "main", Groups: []string{"sg-range"}}, 1},
		{Host{VPC: "main", Groups: []string{"sg-db"}}, 0},
		{Host{VPC: "main", Groups: []string{"sg-narrow"}}, 0},
		{Host{VPC: "dr", Groups: []string{"sg-worker"}}, 0},
	} {
		got := p.vaultRoutes(tc.h)
		if len(got) != tc.want || (tc.want == 1 && got[0] != netip.PrefixFrom(vaultAddr, 32)) {
			t.Errorf("%v: routes %v", tc.h.Groups, got)
		}
	}
}
