package live

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TLS of the HTTPS listener: TLS 1.2 and 1.3 only, forward-secret AEAD suites, as the listener's policy
// (loadbalancer.TLSPolicy, ELBSecurityPolicy-TLS13-1-2-2021-06) names.
const (
	tlsMinVersion = "TLSv1.2"
	tls12Ciphers  = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
	tls13Suites   = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
)

// HAProxyInput is what the load balancer's configuration is rendered from.
type HAProxyInput struct {
	LB LoadBalancer
	// Targets are the target group's members' addresses, by host name.
	Targets map[string]netip.Addr
	// CertFile is the PEM certificate and key of the HTTPS listener; AdminSocket HAProxy's runtime API.
	CertFile    string
	AdminSocket string
	// RedirectTo is the public HTTPS origin port 80 redirects to (the published 443).
	RedirectTo string
}

// RenderHAProxy renders the configuration: 443 with TLS >= 1.2, 80 redirecting only, the app backend with
// the target group's health check (path, interval, thresholds).
func RenderHAProxy(in HAProxyInput) string {
	lb, tg := in.LB, in.LB.Target
	rise, fall := max(tg.HealthyThreshold, 1), max(tg.UnhealthyThreshold, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `# plinth live load balancer %[1]s (generated: internal/localcloud/live/lb.go)
global
	stats socket %[2]s mode 600 level admin
	ssl-default-bind-options ssl-min-ver %[3]s no-tls-tickets
	ssl-default-bind-ciphers %[4]s
	ssl-default-bind-ciphersuites %[5]s

defaults
	mode http
	# A target that is restarting refuses connections: such a request goes to another target (a request
	# that reached a target is never replayed).
	retries 3
	option redispatch 1
	retry-on conn-failure
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-request 10s

frontend https
	bind %[6]s:443 ssl crt %[7]s alpn h2,http/1.1
	http-request set-header X-Forwarded-Proto https
	default_backend app

frontend http
	bind %[6]s:80
	http-request redirect prefix %[8]s code 301

backend app
	option httpchk GET %[9]s
	http-check expect status 200
	default-server inter %[10]ds fall %[11]d rise %[12]d
`, lb.Name, in.AdminSocket, tlsMinVersion, tls12Ciphers, tls13Suites, lb.Address, in.CertFile, in.RedirectTo,
		tg.HealthPath, tg.IntervalSeconds, fall, rise)
	for _, name := range tg.Targets {
		if a, ok := in.Targets[name]; ok {
			fmt.Fprintf(&b, "\tserver %s %s check\n", name, net.JoinHostPort(a.String(), strconv.Itoa(tg.Port)))
		}
	}
	return b.String()
}

// CA is the live cloud's certificate authority: operators trust its certificate (CAFile) for the published
// HTTPS address.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CAFile is the PEM certificate to hand to curl --cacert.
	CAFile string
}

// loadOrCreateCA reads the CA under dir or creates it (a key that never leaves dir, 0600).
func loadOrCreateCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if certPEM, err := os.ReadFile(certPath); err == nil {
		keyPEM, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("ca %s: %w", certPath, err)
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("ca %s: %w", certPath, err)
		}
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("ca %s: not an ECDSA key", keyPath)
		}
		return &CA{Cert: cert, Key: key, CAFile: certPath}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "plinth live local cloud CA", Organization: []string{"plinth"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	return &CA{Cert: cert, Key: key, CAFile: certPath}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// issue writes a server certificate for names and ips, with its key, to path (HAProxy's crt format).
func (ca *CA) issue(path string, names []string, ips []netip.Addr) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return fmt.Errorf("certificate %s: %w", names[0], err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	return os.WriteFile(path, out, 0o600)
}

// lbRunning is the load balancer's namespace and files.
type lbRunning struct {
	spec LoadBalancer
	ns   string
	dir  string
	cfg  string
}

func (l *lbRunning) path(rel string) string { return filepath.Join(l.dir, rel) }

// applyLB creates the load balancer's namespace on first use, renders its certificate and configuration,
// and (re)starts HAProxy when the configuration changed.
func (p *Platform) applyLB(spec LoadBalancer) error {
	if p.lb == nil {
		l := &lbRunning{spec: spec, ns: p.nsName(spec.Name), dir: filepath.Join(p.dir, "lb", spec.Name)}
		if err := os.MkdirAll(l.dir, 0o700); err != nil {
			return fmt.Errorf("load balancer %s: %w", spec.Name, err)
		}
		if err := createNetns(l.ns); err != nil {
			return fmt.Errorf("load balancer %s: %w", spec.Name, err)
		}
		p.lb = l
		if err := attach(l.ns, p.bridgeName(spec.VPC), []netip.Prefix{p.hostPrefix(spec.VPC, spec.Address)}, p.edgeRoutes(true)); err != nil {
			return fmt.Errorf("load balancer %s: %w", spec.Name, err)
		}
		names := []string{"localhost"}
		if spec.DNSName != "" {
			names = append([]string{spec.DNSName}, names...)
		}
		if err := p.ca.issue(l.path("lb.pem"), names, []netip.Addr{netip.MustParseAddr("127.0.0.1"), spec.Address}); err != nil {
			return fmt.Errorf("load balancer %s: %w", spec.Name, err)
		}
	}
	l := p.lb
	l.spec = spec
	targets := map[string]netip.Addr{}
	for _, h := range p.state.Hosts {
		targets[h.Name] = h.Address
	}
	cfg := RenderHAProxy(HAProxyInput{LB: spec, Targets: targets, CertFile: l.path("lb.pem"),
		AdminSocket: l.path("admin.sock"), RedirectTo: p.pub.httpsOrigin()})
	name := spec.Name + "/haproxy"
	if _, running := p.sup.Running(name); running && cfg == l.cfg {
		return nil
	}
	if err := os.WriteFile(l.path("haproxy.cfg"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("load balancer %s: %w", spec.Name, err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-q", "-f", l.path("haproxy.cfg")).CombinedOutput(); err != nil {
		return fmt.Errorf("load balancer %s: haproxy -c: %w: %s", spec.Name, err, strings.TrimSpace(string(out)))
	}
	l.cfg = cfg
	if err := p.sup.Forget(name, 5*time.Second); err != nil {
		return err
	}
	log, err := os.OpenFile(l.path("haproxy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("load balancer %s: %w", spec.Name, err)
	}
	defer log.Close()
	if _, err := p.sup.Start(name, true, func() (*exec.Cmd, error) {
		cmd := exec.Command(nsenterBin, "--net="+netnsDir+"/"+l.ns, "--", haproxyBin, "-db", "-f", l.path("haproxy.cfg"))
		cmd.Stdout, cmd.Stderr = log, log
		return cmd, nil
	}); err != nil {
		return fmt.Errorf("load balancer %s: %w", spec.Name, err)
	}
	err = waitFor(10*time.Second, func() (bool, error) {
		if _, ok := p.sup.Running(name); !ok {
			out, _ := os.ReadFile(l.path("haproxy.log"))
			return false, fmt.Errorf("exited: %s", strings.TrimSpace(string(out)))
		}
		c, err := DialFrom(context.Background(), l.ns, netip.Addr{}, net.JoinHostPort(spec.Address.String(), "443"), time.Second)
		if err != nil {
			return false, nil
		}
		_ = c.Close()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("load balancer %s: haproxy: %w", spec.Name, err)
	}
	return nil
}
