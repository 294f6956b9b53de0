package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NamePrefix starts every namespace, bridge and veth the live cloud creates: nothing else is ever touched.
const NamePrefix = "plt-"

// linkName is a kernel interface name (at most 15 bytes) derived from a longer one: plt<kind><8 hex>.
func linkName(kind, long string) string {
	sum := sha256.Sum256([]byte(long))
	return "plt" + kind + hex.EncodeToString(sum[:4])
}

// inNetns runs fn on an OS thread switched into the named namespace.
func inNetns(name string, fn func() error) error {
	return switched(name, func() (netns.NsHandle, error) {
		h, err := netns.GetFromName(name)
		if err != nil {
			return h, err
		}
		if err := netns.Set(h); err != nil {
			_ = h.Close()
			return h, err
		}
		return h, nil
	}, fn)
}

// switched runs fn on a locked OS thread after enter has switched that thread into a namespace, then
// switches it back. A thread that cannot be switched back stays locked, so the runtime discards it with the
// goroutine rather than reuse it in the wrong namespace.
func switched(name string, enter func() (netns.NsHandle, error), fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: current: %w", err)
			return
		}
		defer orig.Close()
		ns, err := enter()
		if err != nil {
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
			errc <- fmt.Errorf("netns %s: enter: %w", name, err)
			return
		}
		defer ns.Close()
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns %s: leave: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// createNetns makes a named namespace (bind-mounted under /run/netns like `ip netns add`) with lo up.
func createNetns(name string) error {
	if !strings.HasPrefix(name, NamePrefix) {
		return fmt.Errorf("netns %s: refusing a name without the %s prefix", name, NamePrefix)
	}
	// A namespace of this name is a leftover of a platform that crashed: the name is ours, free it.
	if err := deleteNetns(name); err != nil {
		return err
	}
	// NewNamed creates the namespace and switches the calling thread into it.
	if err := switched(name, func() (netns.NsHandle, error) { return netns.NewNamed(name) }, func() error { return nil }); err != nil {
		return err
	}
	return withHandle(name, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		return h.LinkSetUp(lo)
	})
}

// deleteNetns removes a namespace this package created; one that is already gone is not an error.
func deleteNetns(name string) error {
	if !strings.HasPrefix(name, NamePrefix) {
		return fmt.Errorf("netns %s: refusing a name without the %s prefix", name, NamePrefix)
	}
	if _, err := os.Stat(netnsDir + "/" + name); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := netns.DeleteNamed(name); err != nil {
		return fmt.Errorf("netns %s: delete: %w", name, err)
	}
	return nil
}

// netnsDir is where named namespaces are bind-mounted (iproute2's and the netns library's convention).
const netnsDir = "/run/netns"

// withHandle runs fn with a netlink handle inside the named namespace (no thread switching).
func withHandle(name string, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netns %s: netlink: %w", name, err)
	}
	defer h.Close()
	if err := fn(h); err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	return nil
}

// ensureBridge creates the VPC's bridge (no address, so the root namespace has no route to the VPC; no
// uplink) and brings it up.
func ensureBridge(name string) error {
	if l, err := netlink.LinkByName(name); err == nil {
		return netlink.LinkSetUp(l)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("bridge %s: add: %w", name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("bridge %s: up: %w", name, err)
	}
	return nil
}

// detach removes the namespace's veth pair (its outer end; the kernel removes the peer).
func detach(nsName string) error {
	l, err := netlink.LinkByName(linkName("v", nsName))
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("detach %s: %w", nsName, err)
	}
	return nil
}

// deleteBridge removes a bridge; one that is gone is not an error.
func deleteBridge(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("bridge %s: delete: %w", name, err)
	}
	return nil
}

// attach wires the namespace to the bridge: a veth pair whose outer end is a bridge port and whose inner
// end is the namespace's eth0 with addrs (the first one's prefix makes the VPC on-link). routes are extra
// on-link destinations (public hosts: the edge's addresses, AWS's internet gateway). No default route.
func attach(nsName, bridge string, addrs []netip.Prefix, routes []netip.Prefix) error {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("attach %s: bridge %s: %w", nsName, bridge, err)
	}
	outer, inner := linkName("v", nsName), linkName("p", nsName)
	if err := detach(nsName); err != nil { // a leftover of a crashed platform
		return err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: outer, MasterIndex: br.Attrs().Index}, PeerName: inner}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("attach %s: veth %s: %w", nsName, outer, err)
	}
	ns, err := netns.GetFromName(nsName)
	if err != nil {
		return fmt.Errorf("attach %s: %w", nsName, err)
	}
	defer ns.Close()
	peer, err := netlink.LinkByName(inner)
	if err != nil {
		return fmt.Errorf("attach %s: peer %s: %w", nsName, inner, err)
	}
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		return fmt.Errorf("attach %s: move %s: %w", nsName, inner, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("attach %s: up %s: %w", nsName, outer, err)
	}
	return withHandle(nsName, func(h *netlink.Handle) error {
		l, err := h.LinkByName(inner)
		if err != nil {
			return err
		}
		if err := h.LinkSetName(l, "eth0"); err != nil {
			return fmt.Errorf("rename %s: %w", inner, err)
		}
		for _, a := range addrs {
			ipn := &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
				return fmt.Errorf("address %s: %w", a, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
		for _, r := range routes {
			dst := &net.IPNet{IP: r.Addr().AsSlice(), Mask: net.CIDRMask(r.Bits(), r.Addr().BitLen())}
			if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}); err != nil {
				return fmt.Errorf("route %s: %w", r, err)
			}
		}
		return nil
	})
}

// DialFrom opens a TCP connection from inside the named namespace (from local, when valid) to addr.
func DialFrom(ctx context.Context, nsName string, local netip.Addr, addr string, timeout time.Duration) (net.Conn, error) {
	var conn net.Conn
	err := inNetns(nsName, func() error {
		d := net.Dialer{Timeout: timeout}
		if local.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
		}
		var err error
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return conn, err
}

// ListenIn opens a TCP listener inside the named namespace.
func ListenIn(nsName, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(nsName, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// edgeVPC is the VPC the edge namespace (the internet, the admins) attaches to: the load balancer's, else the
// bastion's, else the first. Production's DR VPC has neither: it is reached only from inside the platform.
func edgeVPC(s State) VPC {
	name := ""
	if s.LB != nil {
		name = s.LB.VPC
	}
	for _, h := range s.Hosts {
		if name == "" && h.Bastion {
			name = h.VPC
		}
	}
	for _, v := range s.VPCs {
		if v.Name == name {
			return v
		}
	}
	return s.VPCs[0]
}
