package network

import (
	"fmt"
	"net/netip"
)

// SubnetClass is a kind of subnet. The numbers are part of the address plan: append new classes, never
// reorder, or existing subnets would be renumbered (and replaced).
type SubnetClass int

const (
	Public  SubnetClass = 0 // load balancer, NAT gateways, bastion
	Private SubnetClass = 1 // app, worker, sftp instances; interface endpoints
	Data    SubnetClass = 2 // RDS, OpenSearch, ElastiCache
)

func (c SubnetClass) String() string {
	switch c {
	case Public:
		return "public"
	case Private:
		return "private"
	case Data:
		return "data"
	}
	return fmt.Sprintf("class%d", int(c))
}

// Plan constants: the VPC is cut into 2^slotBits equal slots; slot = class*azStride + az. Adding an AZ uses a
// free slot of each class, adding a class uses a fresh block of azStride slots: nothing existing moves.
const (
	slotBits = 5
	azStride = 8
	// MaxClasses and MaxAZs bound the plan.
	MaxClasses = (1 << slotBits) / azStride
	MaxAZs     = azStride
)

// SubnetCIDR returns the CIDR of the subnet of class in the az-th availability zone (0-based) of vpc.
func SubnetCIDR(vpc netip.Prefix, class SubnetClass, az int) (netip.Prefix, error) {
	switch {
	case !vpc.IsValid() || !vpc.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("vpc cidr %s: want IPv4", vpc)
	case vpc.Bits()+slotBits > 28:
		return netip.Prefix{}, fmt.Errorf("vpc cidr %s: too small for the subnet plan (need /%d or larger)", vpc, 28-slotBits)
	case class < 0 || int(class) >= MaxClasses:
		return netip.Prefix{}, fmt.Errorf("subnet class %d: want 0..%d", class, MaxClasses-1)
	case az < 0 || az >= MaxAZs:
		return netip.Prefix{}, fmt.Errorf("availability zone index %d: want 0..%d", az, MaxAZs-1)
	}
	slot := uint32(int(class)*azStride + az)
	bits := vpc.Bits() + slotBits
	base := vpc.Masked().Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n |= slot << (32 - bits)
	addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(addr, bits), nil
}

// AZNames returns the first n availability zones of region (region + a, b, c, ...). No cloud lookup:
// previews stay offline and deterministic.
func AZNames(region string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = region + string(rune('a'+i))
	}
	return out
}
