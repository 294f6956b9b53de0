package live

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
)

// The vault on the platform's internet. On AWS the worker tier reaches Cloud Storage over the internet
// through its NAT gateway, as its security group's egress rule (HTTPS to 0.0.0.0/0) allows; the data tier,
// with no such rule, cannot. The live vault plays storage.googleapis.com at vaultAddr, an address of the edge
// namespace (the internet), port 443. A host gets one on-link route, to vaultAddr/32 only, when its groups'
// egress rules allow TCP 443 to an address range holding it and it sits in the VPC the edge is attached
// to; no other host has any route to it, no host gets a default route, and nothing leaves the machine. The
// operator keeps the vault's 127.0.0.1 port.

// vaultAddr is the vault's address on the platform's internet (TEST-NET-2, beside internetAddr).
var vaultAddr = netip.MustParseAddr("198.51.100.20")

// vaultPort is HTTPS.
const vaultPort = 443

// PlatformVaultEndpoint is the vault's JSON API endpoint on the platform's internet.
func PlatformVaultEndpoint() string {
	return "https://" + net.JoinHostPort(vaultAddr.String(), strconv.Itoa(vaultPort)) + "/storage/v1/"
}

// VaultAddr is the vault's address on the platform's internet (for tests and pictures).
func VaultAddr() netip.Addr { return vaultAddr }

// allowsVault says whether groups' egress rules let a member open HTTPS to the vault.
func allowsVault(groups []SecurityGroup) bool {
	for _, g := range groups {
		for _, r := range g.Egress {
			if r.Protocol == "tcp" && r.CIDR.IsValid() && r.CIDR.Contains(vaultAddr) && r.FromPort <= vaultPort && vaultPort <= r.ToPort {
				return true
			}
		}
	}
	return false
}

// vaultRoutes are h's routes to the vault: vaultAddr/32 when its egress rules allow it and it is on the
// edge's VPC, else none.
func (p *Platform) vaultRoutes(h Host) []netip.Prefix {
	if h.VPC != p.edgeVPC || !allowsVault(groupsOf(p.state.Groups, h.Groups)) {
		return nil
	}
	return []netip.Prefix{netip.PrefixFrom(vaultAddr, 32)}
}

// serveVaultOnPlatform serves v at vaultAddr:443 inside the edge namespace (when the platform has one).
func (dt *DataTier) serveVaultOnPlatform(v *Vault) error {
	edge := dt.p.edge
	if _, err := os.Stat(netnsDir + "/" + edge); err != nil {
		return nil // no VPC, no internet: the operator's port only
	}
	l, err := ListenIn(edge, net.JoinHostPort(vaultAddr.String(), strconv.Itoa(vaultPort)))
	if err != nil {
		return fmt.Errorf("vault %s: on the platform's internet: %w", v.opts.Bucket, err)
	}
	v.serveAlso(l)
	dt.mu.Lock()
	v.platform = true
	dt.mu.Unlock()
	return nil
}
