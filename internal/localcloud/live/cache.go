package live

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The live cache: each ElastiCache node is Debian's redis-server in its host's namespaces, at the host's
// address, speaking only TLS (certificate from the live CA; no plain-text port) and requiring the group's
// auth token; a node with a Source is a read-only replica of it, replicating over TLS with the token.
//
//	dt.ApplyCaches(ctx, caches) // after Platform.Apply with WithReplication(s, dbs, caches)
//	dt.Caches()                 // for `plinth local status`

// RedisPort is where every cache node listens (TLS only).
const RedisPort = 6379

const redisBin = "/usr/bin/redis-server"

// Cache is one cache node.
type Cache struct {
	Name string
	// Host is the State host it runs on.
	Host string
	// Source is the primary Cache's Name for a replica node, empty for the primary.
	Source string
	// AuthToken is the replication group's auth token (the managed secret's value).
	AuthToken string
	// MaxMemory is maxmemory (default DefaultCacheMemory).
	MaxMemory string
}

// DefaultCacheMemory keeps the cache small, like the databases' buffer pools.
const DefaultCacheMemory = "32mb"

// CacheStatus is one cache node as `plinth local status` shows it.
type CacheStatus struct {
	Name     string `json:"name"`
	Role     string `json:"role"` // primary | replica
	Address  string `json:"address"`
	Running  bool   `json:"running"`
	RSSBytes int64  `json:"rssBytes"`
}

type cacheRunning struct {
	spec   Cache
	addr   netip.Addr
	anchor int
	dir    string
	ns     string
}

func (c *cacheRunning) procName() string       { return c.spec.Host + "/redis-server" }
func (c *cacheRunning) path(rel string) string { return filepath.Join(c.dir, rel) }

// ValidateCaches reports every problem of caches against the state, each naming the node.
func ValidateCaches(s State, caches []Cache) error {
	hosts := map[string]bool{}
	for _, h := range s.Hosts {
		hosts[h.Name] = true
	}
	byName := map[string]Cache{}
	for _, c := range caches {
		byName[c.Name] = c
	}
	var errs []error
	for _, c := range caches {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("cache %s: "+format, append([]any{c.Name}, a...)...))
		}
		if !nameRE.MatchString(c.Name) {
			bad("want a short lower-case name")
		}
		if !hosts[c.Host] {
			bad("host %q is not in the state", c.Host)
		}
		if len(c.AuthToken) < 16 || strings.ContainsAny(c.AuthToken, " \t\r\n\"'\\@") {
			bad("auth token: want at least 16 printable characters, no space, quote, backslash or @")
		}
		if src, ok := byName[c.Source]; c.Source != "" && (!ok || src.Source != "") {
			bad("source %q is not a primary cache node", c.Source)
		}
	}
	return errors.Join(errs...)
}

// RenderRedisConf renders a node's configuration: TLS only on the host's address, the auth token, no
// persistence, a memory cap; a replica's replicaof over TLS.
func RenderRedisConf(c Cache, addr, sourceAddr netip.Addr, dir, certFile, caFile string) string {
	mem := c.MaxMemory
	if mem == "" {
		mem = DefaultCacheMemory
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# plinth live cache %[1]s (generated: internal/localcloud/live/cache.go)
bind %[2]s
port 0
tls-port %[3]d
tls-cert-file %[4]s
tls-key-file %[4]s
tls-ca-cert-file %[5]s
tls-auth-clients no
tls-protocols "TLSv1.2 TLSv1.3"
requirepass %[6]s
protected-mode yes
daemonize no
logfile ""
dir %[7]s
save ""
appendonly no
maxmemory %[8]s
maxmemory-policy allkeys-lru
`, c.Name, addr, RedisPort, certFile, caFile, c.AuthToken, dir, mem)
	if c.Source != "" {
		fmt.Fprintf(&b, "replicaof %s %d\nmasterauth %s\ntls-replication yes\nreplica-read-only yes\n", sourceAddr, RedisPort, c.AuthToken)
	}
	return b.String()
}

// ApplyCaches brings the running cache nodes to caches: gone or changed ones stopped, new ones started
// (primaries first).
func (dt *DataTier) ApplyCaches(ctx context.Context, caches []Cache) error {
	if err := ValidateCaches(dt.state(), caches); err != nil {
		return err
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	want := map[string]Cache{}
	for _, c := range caches {
		want[c.Name] = c
	}
	for _, n := range sortedKeys(dt.caches) {
		if c, ok := want[n]; !ok || c != dt.caches[n].spec || dt.hostReplaced(c.Host, dt.caches[n].anchor) {
			if err := dt.stopCache(n); err != nil {
				return err
			}
		}
	}
	for _, primaries := range []bool{true, false} {
		for _, c := range caches {
			if _, ok := dt.caches[c.Name]; ok || (c.Source == "") != primaries {
				continue
			}
			if err := dt.startCache(ctx, c); err != nil {
				return fmt.Errorf("cache %s: %w", c.Name, err)
			}
		}
	}
	return nil
}

func (dt *DataTier) startCache(ctx context.Context, c Cache) error {
	rh := dt.lockedHost(c.Host)
	if rh == nil {
		return fmt.Errorf("host %s is not running (Apply first)", c.Host)
	}
	r := &cacheRunning{spec: c, addr: rh.spec.Address, anchor: rh.anchor, dir: rh.path("redis"), ns: rh.ns}
	if err := os.MkdirAll(r.path("data"), 0o700); err != nil {
		return err
	}
	if err := dt.p.ca.issue(r.path("server.pem"), []string{c.Name, "localhost"}, []netip.Addr{r.addr}); err != nil {
		return err
	}
	var src netip.Addr
	if c.Source != "" {
		s, ok := dt.caches[c.Source]
		if !ok {
			return fmt.Errorf("source %s is not running", c.Source)
		}
		src = s.addr
	}
	conf := RenderRedisConf(c, r.addr, src, r.path("data"), r.path("server.pem"), dt.caFile())
	if err := os.WriteFile(r.path("redis.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	if err := dt.runInHost(r.procName(), r.anchor, r.path("redis.log"), redisBin, r.path("redis.conf")); err != nil {
		return err
	}
	dt.caches[c.Name] = r
	pool := x509.NewCertPool()
	pool.AddCert(dt.p.ca.Cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: r.addr.String(), MinVersion: tls.VersionTLS12}
	want := "+PONG"
	err := waitFor(30*time.Second, func() (bool, error) {
		if _, ok := dt.p.sup.Running(r.procName()); !ok {
			return false, fmt.Errorf("redis-server exited: %s", tail(r.path("redis.log"), 2000))
		}
		got, err := RedisCommands(ctx, r.ns, net.JoinHostPort(r.addr.String(), strconv.Itoa(RedisPort)), cfg,
			"AUTH "+c.AuthToken, "PING")
		return err == nil && len(got) == 2 && got[1] == want, nil
	})
	if err != nil {
		return fmt.Errorf("redis-server: %w: %s", err, tail(r.path("redis.log"), 2000))
	}
	return nil
}

// RedisCommands opens a connection from inside nsName to addr (TLS with cfg; plain text when cfg is nil),
// sends each inline command and returns the first line of each reply (a bulk string's value in place of
// its length). A reply that does not come is an error.
func RedisCommands(ctx context.Context, nsName, addr string, cfg *tls.Config, cmds ...string) ([]string, error) {
	raw, err := DialFrom(ctx, nsName, netip.Addr{}, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn := raw
	if cfg != nil {
		tc := tls.Client(raw, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("redis %s: tls: %w", addr, err)
		}
		conn = tc
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var out []string
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	readLine := func() (string, error) {
		for {
			if i := strings.Index(string(buf), "\r\n"); i >= 0 {
				line := string(buf[:i])
				buf = buf[i+2:]
				return line, nil
			}
			n, err := conn.Read(tmp)
			if err != nil {
				return "", err
			}
			buf = append(buf, tmp[:n]...)
		}
	}
	for _, c := range cmds {
		if _, err := conn.Write([]byte(c + "\r\n")); err != nil {
			return out, fmt.Errorf("redis %s: %s: %w", addr, strings.Fields(c)[0], err)
		}
		line, err := readLine()
		if err != nil {
			return out, fmt.Errorf("redis %s: %s: %w", addr, strings.Fields(c)[0], err)
		}
		if strings.HasPrefix(line, "$") && line != "$-1" {
			if line, err = readLine(); err != nil {
				return out, err
			}
		}
		out = append(out, line)
	}
	return out, nil
}

func (dt *DataTier) stopCache(name string) error {
	r := dt.caches[name]
	delete(dt.caches, name)
	if err := dt.p.sup.Forget(r.procName(), 10*time.Second); err != nil {
		return fmt.Errorf("cache %s: stop: %w", name, err)
	}
	return nil
}

// closeCaches stops every node, replicas first.
func (dt *DataTier) closeCaches() error {
	var errs []error
	for _, replicas := range []bool{true, false} {
		for _, n := range sortedKeys(dt.caches) {
			if (dt.caches[n].spec.Source != "") == replicas {
				errs = append(errs, dt.stopCache(n))
			}
		}
	}
	return errors.Join(errs...)
}

// Caches reports every cache node.
func (dt *DataTier) Caches() []CacheStatus {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	var out []CacheStatus
	for _, n := range sortedKeys(dt.caches) {
		r := dt.caches[n]
		st := CacheStatus{Name: n, Role: "primary", Address: r.addr.String()}
		if r.spec.Source != "" {
			st.Role = "replica"
		}
		if pid, ok := dt.p.sup.Running(r.procName()); ok {
			st.Running, st.RSSBytes = true, TreeRSS(pid)
		}
		out = append(out, st)
	}
	return out
}
