package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// drLink is the point-to-point link between a primary's and its DR replica's namespaces: cross-region
// replication without joining the VPCs. Each end is an interface named ifname with a /32 route to the other
// end's address; an nftables table in each namespace lets only the replica's connections to the primary's
// 3306 (and their replies) use it.
type drLink struct {
	ifname      string
	primaryNS   string
	replicaNS   string
	primary, dr netip.Addr
	primaryDir  string
	replicaDir  string
	replicaName string
}

// ensureLink wires the DR replica r to its primary src.
func (dt *DataTier) ensureLink(ctx context.Context, src, r *dbRunning) error {
	pNS, rNS := dt.p.nsName(src.host), dt.p.nsName(r.host)
	l := drLink{ifname: linkName("r", dt.p.id+"/"+r.spec.Name), primaryNS: pNS, replicaNS: rNS, primary: src.addr,
		dr: r.addr, primaryDir: src.dir, replicaDir: r.dir, replicaName: r.spec.Name}
	_ = dt.removeLink(l) // a leftover of a crashed run
	tmpA, tmpB := linkName("x", l.ifname+"a"), linkName("x", l.ifname+"b")
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tmpA}, PeerName: tmpB}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("dr link %s: %w", l.ifname, err)
	}
	dt.links[r.spec.Name] = l
	ends := []struct {
		tmp, ns     string
		self, other netip.Addr
	}{{tmpA, pNS, src.addr, r.addr}, {tmpB, rNS, r.addr, src.addr}}
	for _, e := range ends {
		if err := moveAndRoute(e.tmp, e.ns, l.ifname, e.self, e.other); err != nil {
			return fmt.Errorf("dr link %s: %w", l.ifname, err)
		}
	}
	if err := loadLinkTable(ctx, pNS, filepath.Join(src.dir, "link-"+r.spec.Name), l.ruleset(true)); err != nil {
		return err
	}
	return loadLinkTable(ctx, rNS, filepath.Join(r.dir, "link-"+r.spec.Name), l.ruleset(false))
}

func moveAndRoute(tmp, nsName, ifname string, self, other netip.Addr) error {
	link, err := netlink.LinkByName(tmp)
	if err != nil {
		return err
	}
	ns, err := netns.GetFromName(nsName)
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := netlink.LinkSetNsFd(link, int(ns)); err != nil {
		return fmt.Errorf("move %s to %s: %w", tmp, nsName, err)
	}
	return withHandle(nsName, func(h *netlink.Handle) error {
		l, err := h.LinkByName(tmp)
		if err != nil {
			return err
		}
		if err := h.LinkSetName(l, ifname); err != nil {
			return err
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
		dst := &net.IPNet{IP: other.AsSlice(), Mask: net.CIDRMask(32, 32)}
		return h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Src: self.AsSlice(), Scope: netlink.SCOPE_LINK})
	})
}

// tableName is the link's nftables table (next to the security groups' table, which it never touches: a
// packet must pass both).
func (l drLink) tableName() string { return "plinth_" + strings.ReplaceAll(l.ifname, "-", "_") }

// ruleset renders the link's table for the primary's end (primary) or the replica's.
func (l drLink) ruleset(primary bool) string {
	var in, out string
	if primary {
		in = fmt.Sprintf("\t\tiifname %q ip saddr %s tcp dport %d ct state new accept\n", l.ifname, l.dr, MySQLPort)
	} else {
		out = fmt.Sprintf("\t\toifname %q ip daddr %s tcp dport %d ct state new accept\n", l.ifname, l.primary, MySQLPort)
	}
	return fmt.Sprintf(`# plinth live: the DR replication link of %[1]s (generated: internal/localcloud/live/drlink.go): MySQL only
table inet %[2]s
delete table inet %[2]s
table inet %[2]s {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname %[3]q ct state established,related accept
%[4]s		iifname %[3]q drop
	}
	chain output {
		type filter hook output priority filter; policy accept;
		oifname %[3]q ct state established,related accept
%[5]s		oifname %[3]q drop
	}
}
`, l.replicaName, l.tableName(), l.ifname, in, out)
}

// loadLinkTable loads a link's table with the firewall's loader, from the link's own directory under dir.
func loadLinkTable(ctx context.Context, nsName, dir, ruleset string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("firewall %s: %w", nsName, err)
	}
	return loadRuleset(ctx, nsName, dir, ruleset)
}

// removeLink deletes the link (deleting one end removes both) and its tables; a namespace that is gone took
// them with it.
func (dt *DataTier) removeLink(l drLink) error {
	var errs []error
	for _, nsName := range []string{l.primaryNS, l.replicaNS} {
		if _, err := os.Stat(netnsDir + "/" + nsName); err != nil {
			continue
		}
		_ = exec.Command(nsenterBin, "--net="+netnsDir+"/"+nsName, "--", nftBin, "delete", "table", "inet", l.tableName()).Run()
		errs = append(errs, withHandle(nsName, func(h *netlink.Handle) error {
			if link, err := h.LinkByName(l.ifname); err == nil {
				return h.LinkDel(link)
			}
			return nil
		}))
	}
	return errors.Join(errs...)
}
