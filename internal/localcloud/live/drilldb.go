package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// The drill database of a replica-source DR drill, as the live cloud makes it (RDS's
// CreateDBInstanceReadReplica of the DR replica, then PromoteReadReplica): a mariadbd on a managed host of
// the drill stack's platform, in the source's DR VPC (the DR replica's data subnet, the DR replica's
// security groups), replicating over TLS with GTIDs from the source's DR replica (which logs what it
// replicates: log_slave_updates), never touching the DR replica's own replication. The managed replication
// flow (drill database -> DR replica, 3306) is added to both hosts' rulesets as WithReplication does for
// the platform's own replicas. The operator's connections (plinth) reach the drill database and the DR
// replica through 127.0.0.1 forwards the server opens into their hosts' namespaces, TLS verified end to end
// with the platforms' CAs: the drill's control connection, like a cloud's endpoint for its API caller.

// drillDBHost is the drill database's host name in the drill platform.
const drillDBHost = "drill-db"

// drillRun is one drill's live parts: the DR replica's forward, the drill database and its forward.
type drillRun struct {
	stack, source, id string
	src, dp           *Platform
	drReplica         *dbRunning // the source's DR replica (read only)
	host              Host       // the drill database's host (zero until created)
	db                *dbRunning
	restore           bool // db is a backup drill's restore target: writable, replicating from nothing
	fwds              map[string]*forward
}

// forward is a 127.0.0.1 listener whose connections are opened from inside a namespace to target.
type forward struct {
	ln     net.Listener
	ns     string
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func openForward(ns, target string) (*forward, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &forward{ln: ln, ns: ns, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *forward) track(c net.Conn, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *forward) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.track(c, true)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer func() { f.track(c, false); _ = c.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			up, err := DialFrom(ctx, f.ns, netip.Addr{}, f.target, 10*time.Second)
			cancel()
			if err != nil {
				return
			}
			f.track(up, true)
			defer func() { f.track(up, false); _ = up.Close() }()
			splice(c, up)
		}()
	}
}

func (f *forward) addr() string { return f.ln.Addr().String() }

func (f *forward) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// drReplicaOf is the platform's DR replica (nil when it has none running).
func (dt *DataTier) drReplicaOf() *dbRunning { return dt.roleOf(RoleDRReplica) }

// primaryOf is the platform's primary (nil when it has none running).
func (dt *DataTier) primaryOf() *dbRunning { return dt.roleOf(RolePrimary) }

func (dt *DataTier) roleOf(role string) *dbRunning {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	for _, n := range sortedKeys(dt.dbs) {
		if dt.dbs[n].spec.Role == role {
			return dt.dbs[n]
		}
	}
	return nil
}

// stateHost is the platform's current host named name.
func (p *Platform) stateHost(name string) (Host, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.state.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// usedAddrs are the addresses p's state gives its hosts and load balancer.
func (p *Platform) usedAddrs(into map[netip.Addr]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.state.Hosts {
		into[h.Address] = true
	}
	if p.state.LB != nil {
		into[p.state.LB.Address] = true
	}
}

// drillDBHostSpec places the drill database: the DR replica's VPC and subnet, the highest address free in
// both platforms, the DR replica's own security groups (not the managed flows) plus its replication flow.
func (r *drillRun) drillDBHostSpec(dr Host) (Host, error) {
	used := map[netip.Addr]bool{}
	r.src.usedAddrs(used)
	r.dp.usedAddrs(used)
	var addr netip.Addr
	last := dr.Subnet.Masked().Addr()
	for a := last; dr.Subnet.Contains(a); a = a.Next() {
		last = a
	}
	for a := last.Prev(); dr.Subnet.Contains(a) && a != dr.Subnet.Masked().Addr(); a = a.Prev() {
		if !used[a] {
			addr = a
			break
		}
	}
	if !addr.IsValid() {
		return Host{}, fmt.Errorf("drill database: DR subnet %s is full", dr.Subnet)
	}
	var groups []string
	for _, g := range dr.Groups {
		if !strings.HasPrefix(g, "plinth-") {
			groups = append(groups, g)
		}
	}
	return Host{Name: drillDBHost, Tier: "drill-db", VPC: dr.VPC, Address: addr, Subnet: dr.Subnet, Groups: groups}, nil
}

// replicationOverlays are the managed replication flow of the drill database from the DR replica: egress
// on the drill database's host, ingress on the DR replica's.
func (r *drillRun) replicationOverlays(dr Host) (drill, source func(State) State) {
	rule := func(a netip.Addr) Rule {
		return Rule{Protocol: "tcp", FromPort: MySQLPort, ToPort: MySQLPort, CIDR: netip.PrefixFrom(a, 32),
			Purpose: fmt.Sprintf("drill %s replication of %s (managed)", r.id, dr.Name)}
	}
	out := SecurityGroup{ID: "plinth-drill-repl-out", Tier: "managed", Egress: []Rule{rule(dr.Address)}}
	in := SecurityGroup{ID: "plinth-drill-repl-in-" + StackID(r.stack), Tier: "managed", Ingress: []Rule{rule(r.host.Address)}}
	drill = r.hostOverlay(&out)
	source = func(s State) State {
		s.Groups = append(append([]SecurityGroup{}, s.Groups...), in)
		s.Hosts = append([]Host{}, s.Hosts...)
		for i := range s.Hosts {
			if s.Hosts[i].Name == dr.Name {
				s.Hosts[i].Groups = append(append([]string{}, s.Hosts[i].Groups...), in.ID)
			}
		}
		return s
	}
	return drill, source
}

// hostOverlay adds the drill database's host to the drill platform's state, in extra too when given.
func (r *drillRun) hostOverlay(extra *SecurityGroup) func(State) State {
	host := r.host
	host.Groups = append([]string{}, r.host.Groups...)
	if extra != nil {
		host.Groups = append(host.Groups, extra.ID)
	}
	return func(s State) State {
		if s.SSHUser == "" {
			s.SSHUser = managedOnlyUser // the drill stack has no instance yet (or any more)
		}
		if extra != nil {
			s.Groups = append(append([]SecurityGroup{}, s.Groups...), *extra)
		}
		s.Hosts = append(append([]Host{}, s.Hosts...), host)
		return s
	}
}

// grantApp creates production's application user on a restored drill database (a backup carries no
// accounts), as the data tier does on a primary: the drill stack's application writes with it.
func (r *drillRun) grantApp(ctx context.Context) error {
	if r.db == nil {
		return errors.New("drill database: not created")
	}
	if r.db.spec.AppUser == "" {
		return fmt.Errorf("drill database: %s's primary has no application user", r.source)
	}
	if err := r.dp.data.grantApp(ctx, r.db); err != nil {
		return fmt.Errorf("drill database: %w", err)
	}
	return nil
}

// startDrillDB starts the drill database on its (running) host with the DR replica's master user and
// transport settings: a replica drill's points it at the DR replica; a backup drill's is an empty, writable
// server (a primary of its own) with production's application user to create once the backup is restored
// (grantApp).
func (r *drillRun) startDrillDB(ctx context.Context) error {
	rh := r.dp.data.lockedHost(drillDBHost)
	if rh == nil {
		return errors.New("drill database: its host is not running")
	}
	spec := r.drReplica.spec
	d := Database{Name: drillDBHost, Host: drillDBHost, Role: RoleReplica, Source: spec.Name, MasterUser: spec.MasterUser,
		MasterPassword: spec.MasterPassword, RequireSecureTransport: spec.RequireSecureTransport, BufferPool: spec.BufferPool}
	if r.restore {
		d.Role, d.Source = RolePrimary, ""
		if p := r.src.data.primaryOf(); p != nil {
			d.AppUser, d.AppPassword = p.spec.AppUser, p.spec.AppPassword
		}
	}
	db := &dbRunning{spec: d, addr: rh.spec.Address, host: drillDBHost, anchor: rh.anchor, dir: rh.path("mysql")}
	r.db = db
	if err := r.dp.data.startDB(ctx, db); err != nil {
		return fmt.Errorf("drill database: %w", err)
	}
	if r.restore {
		return nil
	}
	src := mysqlx.ReplicationSource{Host: r.drReplica.addr.String(), Port: MySQLPort, User: replUser,
		Password: r.src.data.replPassword, CAFile: r.src.data.caFile()}
	conn, err := db.root()
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := mysqlx.StartReplica(ctx, conn, src, time.Minute); err != nil {
		return fmt.Errorf("drill database: %w", err)
	}
	return nil
}

// promote ends the drill database's replication for good and makes it writable (as root, on its socket).
func (r *drillRun) promote(ctx context.Context) error {
	if r.db == nil {
		return errors.New("drill database: not created")
	}
	conn, err := r.db.root()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mysqlx.Promote(ctx, conn)
}

// stopDrillDB stops the drill database by pid (its files go with its host).
func (r *drillRun) stopDrillDB() error {
	if r.db == nil {
		return nil
	}
	err := r.dp.sup.Forget(r.db.procName(), 60*time.Second)
	r.db = nil
	if err != nil {
		return fmt.Errorf("drill database: stop: %w", err)
	}
	return nil
}

func (r *drillRun) closeForwards() {
	for k, f := range r.fwds {
		f.close()
		delete(r.fwds, k)
	}
}
