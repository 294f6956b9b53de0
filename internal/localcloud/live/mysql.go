package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/proctree"
)

// The live data tier: managed databases (aws:rds/instance) as real mariadbd servers, run by the platform's
// supervisor inside the namespace of the data-subnet host the engine placed them on, at that host's address.
//
// A DataTier sits next to a Platform and uses its hosts, supervisor and CA; the reconcile path calls, after
// Platform.Apply:
//
//	s = live.WithReplication(s, dbs, caches) // before Apply: the flows the services carry outside the groups
//	p.Apply(ctx, s)
//	dt.ApplyDatabases(ctx, dbs)              // dt := live.NewDataTier(p), once
//	dt.ApplyCaches(ctx, caches)              // cache.go
//	...
//	dt.Close(); p.Close()              // the data tier first
//
// Every server has binlogs and GTIDs (gtid_strict_mode); replicas replicate over TLS with MASTER_USE_GTID and
// are read_only; a DR replica lives in another VPC and reaches its primary over a dedicated link that carries
// only MySQL (3306) between the two addresses. require_secure_transport makes a plain-text client fail.

// Database roles.
const (
	RolePrimary   = "primary"
	RoleReplica   = "replica"
	RoleDRReplica = "dr-replica"
)

// MySQLPort is where every database listens, on its host's address.
const MySQLPort = 3306

// Database is one managed instance.
type Database struct {
	// Name is the instance's name (status, certificates).
	Name string
	// Host is the State host it runs on: its namespace and address are the endpoint.
	Host string
	Role string
	// Source is the primary Database's Name (replicas and DR replicas).
	Source string
	// MasterUser and MasterPassword are the master credentials (the managed secret's value); replicas get
	// the same account, as RDS read replicas do.
	MasterUser     string
	MasterPassword string
	// AppUser and AppPassword, on a primary, are the application user's (appenv.go): created from the master
	// user, replicated.
	AppUser     string
	AppPassword string
	// RequireSecureTransport is the parameter group's require_secure_transport.
	RequireSecureTransport bool
	// BufferPool is innodb_buffer_pool_size (default DefaultBufferPool).
	BufferPool string
}

// DefaultBufferPool keeps four servers well under the platform's memory target.
const DefaultBufferPool = "32M"

// ValidateDatabases reports every problem of dbs against the state, each naming the database.
func ValidateDatabases(s State, dbs []Database) error {
	hosts := map[string]Host{}
	for _, h := range s.Hosts {
		hosts[h.Name] = h
	}
	byName := map[string]Database{}
	for _, d := range dbs {
		byName[d.Name] = d
	}
	var errs []error
	used := map[string]string{}
	for _, d := range dbs {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("database %s: "+format, append([]any{d.Name}, a...)...))
		}
		if !nameRE.MatchString(d.Name) {
			bad("want a short lower-case name")
		}
		if _, ok := hosts[d.Host]; !ok {
			bad("host %q is not in the state", d.Host)
		} else if other := used[d.Host]; other != "" {
			bad("host %s already runs database %s", d.Host, other)
		}
		used[d.Host] = d.Name
		if !validSQLName(d.MasterUser) {
			bad("master user %q: want letters, digits and _ (1-32)", d.MasterUser)
		}
		if len(d.MasterPassword) < 8 || strings.ContainsAny(d.MasterPassword, "'\\\x00") {
			bad("master password: want at least 8 characters, no quote, backslash or NUL")
		}
		switch d.Role {
		case RolePrimary:
			if d.Source != "" {
				bad("a primary has no source (got %q)", d.Source)
			}
		case RoleReplica, RoleDRReplica:
			src, ok := byName[d.Source]
			switch {
			case !ok:
				bad("source %q is not a database", d.Source)
			case src.Role != RolePrimary:
				bad("source %s is a %s, want a primary", d.Source, src.Role)
			case d.Role == RoleReplica && hosts[d.Host].VPC != hosts[src.Host].VPC:
				bad("a replica must be in its primary's vpc %s (a DR replica may not)", hosts[src.Host].VPC)
			}
		default:
			bad("role %q: want %s, %s or %s", d.Role, RolePrimary, RoleReplica, RoleDRReplica)
		}
	}
	return errors.Join(errs...)
}

func validSQLName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// WithReplication returns s with the flows the managed services carry themselves (RDS and ElastiCache
// replication is not governed by the customer's security groups): each database replica may open 3306 to
// its primary, each cache replica 6379 to its primary. Per replica it adds a group on the primary's host
// (ingress from the replica's address) and one on the replica's host (egress to the primary's). Pure.
func WithReplication(s State, dbs []Database, caches []Cache) State {
	out := s
	out.Groups = append([]SecurityGroup{}, s.Groups...)
	out.Hosts = append([]Host{}, s.Hosts...)
	addr := map[string]netip.Addr{}
	for _, h := range s.Hosts {
		addr[h.Name] = h.Address
	}
	addGroup := func(host string, g SecurityGroup) {
		out.Groups = append(out.Groups, g)
		for i := range out.Hosts {
			if out.Hosts[i].Name == host {
				out.Hosts[i].Groups = append(append([]string{}, out.Hosts[i].Groups...), g.ID)
			}
		}
	}
	flow := func(name, host, srcName, srcHost string, port int, purpose string) {
		if !addr[host].IsValid() || !addr[srcHost].IsValid() {
			return
		}
		rule := func(a netip.Addr) Rule {
			return Rule{Protocol: "tcp", FromPort: port, ToPort: port, CIDR: netip.PrefixFrom(a, 32),
				Purpose: fmt.Sprintf("%s of %s (managed)", purpose, srcName)}
		}
		addGroup(srcHost, SecurityGroup{ID: "plinth-repl-in-" + name, Tier: "managed", Ingress: []Rule{rule(addr[host])}})
		addGroup(host, SecurityGroup{ID: "plinth-repl-out-" + name, Tier: "managed", Egress: []Rule{rule(addr[srcHost])}})
	}
	dbHost := map[string]string{}
	for _, d := range dbs {
		dbHost[d.Name] = d.Host
	}
	for _, d := range dbs {
		if d.Role != RolePrimary {
			flow(d.Name, d.Host, d.Source, dbHost[d.Source], MySQLPort, d.Role+" replication")
		}
	}
	cacheHost := map[string]string{}
	for _, c := range caches {
		cacheHost[c.Name] = c.Host
	}
	for _, c := range caches {
		if c.Source != "" {
			flow(c.Name, c.Host, c.Source, cacheHost[c.Source], RedisPort, "cache replication")
		}
	}
	return out
}

// DataTier runs the platform's databases (and caches and vault: cache.go, vault.go).
type DataTier struct {
	p   *Platform
	mu  sync.Mutex
	dbs map[string]*dbRunning
	// replPassword is the replication account's password, the same on every server of this tier.
	replPassword string
	links        map[string]drLink // DR replica name -> its replication link
	caches       map[string]*cacheRunning
	vaults       []*Vault
	search       string // what stands in for the search domain (DataSpec.Search)
	secretsFile  string // the local cloud's Secrets Manager file (status)
}

// NewDataTier returns the data tier of a platform; nothing runs before ApplyDatabases.
func NewDataTier(p *Platform) *DataTier {
	return &DataTier{p: p, dbs: map[string]*dbRunning{}, replPassword: randomToken(24), links: map[string]drLink{},
		caches: map[string]*cacheRunning{}}
}

// DatabaseStatus is one database as `plinth local status` shows it.
type DatabaseStatus struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Address string `json:"address"`
	// LagSeconds is Seconds_Behind_Master (replicas; -1 when replication is not running).
	LagSeconds int   `json:"lagSeconds"`
	Running    bool  `json:"running"`
	RSSBytes   int64 `json:"rssBytes"`
}

// Databases reports every database.
func (dt *DataTier) Databases(ctx context.Context) []DatabaseStatus {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	var out []DatabaseStatus
	for _, n := range sortedKeys(dt.dbs) {
		r := dt.dbs[n]
		st := DatabaseStatus{Name: n, Role: r.spec.Role, Address: r.addr.String(), LagSeconds: -1}
		if pid, ok := dt.p.sup.Running(r.procName()); ok {
			st.Running = true
			st.RSSBytes = TreeRSS(pid)
		}
		if r.spec.Role == RolePrimary {
			st.LagSeconds = 0
		} else if lag, err := r.lag(ctx); err == nil {
			st.LagSeconds = lag
		}
		out = append(out, st)
	}
	return out
}

// TreeRSS is the resident memory of pid and every process below it, in bytes (0 when it is gone).
func TreeRSS(pid int) int64 {
	var total int64
	for _, p := range append([]int{pid}, proctree.Descendants(pid)...) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb * 1024
			}
		}
	}
	return total
}

// lag reads the replica's Seconds_Behind_Master.
func (r *dbRunning) lag(ctx context.Context) (int, error) {
	row, err := r.slaveStatus(ctx)
	if err != nil {
		return -1, err
	}
	v := row["Seconds_Behind_Master"]
	if v == "" || v == "NULL" {
		return -1, errors.New("replication not running")
	}
	return strconv.Atoi(v)
}

// slaveStatus is SHOW SLAVE STATUS as column -> value.
func (r *dbRunning) slaveStatus(ctx context.Context) (map[string]string, error) {
	db, err := r.root()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, fmt.Errorf("database %s: not a replica", r.spec.Name)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, c := range cols {
		out[c] = "NULL"
		if vals[i].Valid {
			out[c] = vals[i].String
		}
	}
	return out, rows.Err()
}
