package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/components/firewall"
)

// flow is a connection attempt from a tier (or the internet / admins) to a tier's port.
type flow struct {
	from, to string
	port     int
}

func (f flow) String() string { return fmt.Sprintf("%s -> %s:%d", f.from, f.to, f.port) }

// source returns the namespace and local address a flow starts from.
func source(p *Platform, s State, from string) (string, netip.Addr) {
	switch from {
	case firewall.Internet:
		return p.EdgeNetns(), p.InternetAddr()
	case firewall.Admin:
		return p.EdgeNetns(), p.AdminAddr()
	case firewall.LB:
		return p.NetnsName(s.LB.Name), s.LB.Address
	}
	for _, h := range s.Hosts {
		if h.Tier == from {
			return p.NetnsName(h.Name), h.Address
		}
	}
	return "", netip.Addr{}
}

// targets returns the addresses of a tier's hosts.
func targets(s State, tier string) []Host {
	if tier == firewall.LB {
		return []Host{{Name: s.LB.Name, Address: s.LB.Address}}
	}
	var out []Host
	for _, h := range s.Hosts {
		if h.Tier == tier {
			out = append(out, h)
		}
	}
	return out
}

func attempt(p *Platform, s State, f flow, timeout time.Duration) error {
	ns, local := source(p, s, f.from)
	var errs []error
	for _, h := range targets(s, f.to) {
		c, err := DialFrom(context.Background(), ns, local, net.JoinHostPort(h.Address.String(), fmt.Sprint(f.port)), timeout)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
			continue
		}
		_ = c.Close()
	}
	return errors.Join(errs...)
}

// listenEverywhere opens a listener on every flow's target that has no server yet (the data tier's ports, the
// services before a release), inside the target's namespace.
func listenEverywhere(t *testing.T, p *Platform, s State, flows []flow) (closeAll func()) {
	t.Helper()
	seen := map[string]bool{}
	var ls []net.Listener
	closeAll = func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}
	t.Cleanup(closeAll)
	for _, f := range flows {
		if f.from == firewall.Internet && f.to == firewall.LB {
			continue // HAProxy
		}
		for _, h := range targets(s, f.to) {
			if f.port == 22 && h.SSH {
				continue // sshd
			}
			addr := net.JoinHostPort(h.Address.String(), fmt.Sprint(f.port))
			if seen[addr] {
				continue
			}
			seen[addr] = true
			l, err := ListenIn(p.NetnsName(h.Name), addr)
			if err != nil {
				t.Fatalf("listen %s in %s: %v", addr, h.Name, err)
			}
			ls = append(ls, l)
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					_ = c.Close()
				}
			}()
		}
	}
	return closeAll
}

func testFirewall(t *testing.T, p *Platform, s State, allowed []flow) {
	forbidden := []flow{
		{firewall.Internet, firewall.App, 8080},
		{firewall.Internet, firewall.DB, 3306},
		{firewall.Internet, firewall.Bastion, 22},
		{firewall.Admin, firewall.App, 22},
		{firewall.LB, firewall.DB, 3306},
		{firewall.LB, firewall.App, 22},
		{firewall.Worker, firewall.Bastion, 22},
		{firewall.App, firewall.Bastion, 22},
		{firewall.App, firewall.Worker, 22},
		{firewall.App, firewall.App, 8080},
		{firewall.Search, firewall.DB, 3306},
		{firewall.Cache, firewall.App, 8080},
		{firewall.DB, firewall.App, 22},
		{firewall.SFTP, firewall.DB, 3306},
		{firewall.Bastion, firewall.Cache, 6379},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	check := func(f flow, want bool) {
		defer wg.Done()
		timeout := 2 * time.Second
		if want {
			timeout = 10 * time.Second
		}
		err := attempt(p, s, f, timeout)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case want && err != nil:
			got = append(got, fmt.Sprintf("allowed %s did not connect: %v", f, err))
		case !want && err == nil:
			got = append(got, fmt.Sprintf("forbidden %s connected", f))
		}
	}
	for _, f := range allowed {
		wg.Add(1)
		go check(f, true)
	}
	for _, f := range forbidden {
		wg.Add(1)
		go check(f, false)
	}
	wg.Wait()
	for _, g := range got {
		t.Error(g)
	}
	t.Logf("%d allowed flows connected, %d forbidden flows refused or dropped", len(allowed), len(forbidden))
}
