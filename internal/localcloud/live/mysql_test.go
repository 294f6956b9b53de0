package live

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// dataState is a small platform for the data tier: an app host and three database hosts in the main VPC,
// the DR replica's host in a DR VPC (no route between the two), the cache's host.
func dataState() State {
	h := func(name, tier, vpc, addr string) Host {
		return Host{Name: name, Tier: tier, VPC: vpc, Address: netip.MustParseAddr(addr), Groups: []string{"sg-" + tier}}
	}
	rule := func(port int, group string) Rule {
		return Rule{Protocol: "tcp", FromPort: port, ToPort: port, Group: group, Purpose: "test"}
	}
	return State{
		SSHUser: "plinth",
		VPCs: []VPC{{Name: "main", CIDR: netip.MustParsePrefix("10.70.0.0/16")},
			{Name: "dr", CIDR: netip.MustParsePrefix("10.71.0.0/16")}},
		Groups: []SecurityGroup{
			{ID: "sg-app", Tier: "app", Egress: []Rule{rule(3306, "sg-db"), rule(6379, "sg-cache")}},
			{ID: "sg-db", Tier: "db", Ingress: []Rule{rule(3306, "sg-app")}},
			{ID: "sg-cache", Tier: "cache", Ingress: []Rule{rule(6379, "sg-app")}},
		},
		Hosts: []Host{
			h("app-1", "app", "main", "10.70.8.10"),
			h("db-1", "db", "main", "10.70.16.10"),
			h("db-2", "db", "main", "10.70.17.10"),
			h("db-3", "db", "main", "10.70.18.10"),
			h("db-dr", "db", "dr", "10.71.16.10"),
			h("cache-1", "cache", "main", "10.70.16.30"),
			h("cache-2", "cache", "main", "10.70.17.30"),
		},
	}
}

const testMasterPassword = "s3cret-master-pw"

func testDatabases() []Database {
	d := func(name, host, role, src string) Database {
		return Database{Name: name, Host: host, Role: role, Source: src, MasterUser: "admin",
			MasterPassword: testMasterPassword, RequireSecureTransport: true}
	}
	return []Database{
		d("db", "db-1", RolePrimary, ""),
		d("db-replica-1", "db-2", RoleReplica, "db"),
		d("db-replica-2", "db-3", RoleReplica, "db"),
		d("db-dr", "db-dr", RoleDRReplica, "db"),
	}
}

// newDataPlatform applies s (with the replication flows) for real, or skips where the live cloud cannot run.
func newDataPlatform(t testing.TB, id string, s State, dbs []Database, caches []Cache) (*Platform, *DataTier) {
	t.Helper()
	if err := Check(); err != nil {
		if os.Geteuid() != 0 {
			t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
		}
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/run", "plinth-live-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p, err := New(Options{ID: id, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	dt := NewDataTier(p)
	t.Cleanup(func() {
		if err := dt.Close(); err != nil {
			t.Errorf("data tier close: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := p.Apply(ctx, WithReplication(s, dbs, caches)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return p, dt
}

// openFrom opens a pool to addr from inside a host's namespace, over TLS verified against the live CA when
// tlsOn, as the master user.
func openFrom(t testing.TB, p *Platform, fromHost, addr string, tlsOn bool) *sql.DB {
	t.Helper()
	return openAs(t, p, fromHost, addr, "admin", testMasterPassword, tlsOn)
}

// openAs is openFrom as user with password.
func openAs(t testing.TB, p *Platform, fromHost, addr, user, password string, tlsOn bool) *sql.DB {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.Timeout = user, password, "tcp", addr, 5*time.Second
	if tlsOn {
		c.TLS = testTLS(t, p, strings.Split(addr, ":")[0])
	}
	c.DialFunc = func(ctx context.Context, _, a string) (net.Conn, error) {
		return DialFrom(ctx, p.NetnsName(fromHost), netip.Addr{}, a, 5*time.Second)
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func testTLS(t testing.TB, p *Platform, serverName string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(p.Status().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// TestLiveDatabases runs a primary, two read replicas and a DR replica for real and checks: a row written to
// the primary over TLS appears on every replica and on the DR replica; a plain-text client is refused; a
// replica refuses writes; the DR link carries only replication; the four servers' RSS; nothing is left.
func TestLiveDatabases(t *testing.T) {
	s, dbs := dataState(), testDatabases()
	p, dt := newDataPlatform(t, "td1", s, dbs, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	if err := dt.ApplyDatabases(ctx, dbs); err != nil {
		t.Fatalf("apply databases: %v", err)
	}
	t.Logf("4 databases up and replicating in %s", time.Since(start).Round(time.Millisecond))

	primary := openFrom(t, p, "app-1", "10.70.16.10:3306", true)
	for _, q := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(40))",
		"INSERT INTO app.t VALUES (1, 'written to the primary')"} {
		if _, err := primary.ExecContext(ctx, q); err != nil {
			t.Fatalf("primary: %s: %v", q, err)
		}
	}
	var cipher, gtid string
	if err := primary.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(new(string), &cipher); err != nil || cipher == "" {
		t.Errorf("primary session not over TLS: %q %v", cipher, err)
	}
	if err := primary.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil || gtid == "" {
		t.Errorf("primary has no GTID position: %q %v", gtid, err)
	}
	readers := map[string]*sql.DB{
		"db-replica-1": openFrom(t, p, "app-1", "10.70.17.10:3306", true),
		"db-replica-2": openFrom(t, p, "app-1", "10.70.18.10:3306", true),
	}
	drRoot, err := sql.Open("mysql", rootDSN(socketPath(p.HostDir("db-dr")+"/mysql/mysqld.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer drRoot.Close()
	readers["db-dr"] = drRoot
	for name, db := range readers {
		var v string
		err := waitFor(60*time.Second, func() (bool, error) {
			return db.QueryRowContext(ctx, "SELECT v FROM app.t WHERE id = 1").Scan(&v) == nil, nil
		})
		if err != nil || v != "written to the primary" {
			t.Errorf("%s: the primary's row did not arrive: %v (%q)", name, err, v)
		}
	}
	if _, err := readers["db-replica-1"].ExecContext(ctx, "INSERT INTO app.t VALUES (2, 'x')"); err == nil ||
		!strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write to a read replica: %v, want a read-only refusal", err)
	}
	testPlainTextRefused(ctx, t, p)
	testDRLink(t, p)

	var total int64
	var pids []int
	for _, st := range dt.Databases(ctx) {
		t.Logf("%s %s %s lag=%ds rss=%.1f MiB", st.Name, st.Role, st.Address, st.LagSeconds, float64(st.RSSBytes)/(1<<20))
		total += st.RSSBytes
		if !st.Running || (st.Role != RolePrimary && st.LagSeconds < 0) {
			t.Errorf("database %s: running %v lag %d", st.Name, st.Running, st.LagSeconds)
		}
	}
	for _, pr := range p.Status().Processes {
		if strings.HasSuffix(pr.Name, "/mariadbd") && pr.Running {
			pids = append(pids, pr.Pid)
		}
	}
	t.Logf("RSS of the primary + 3 replicas: %.1f MiB", float64(total)/(1<<20))
	if total == 0 || total > 1<<30 {
		t.Errorf("the four servers' RSS is %d bytes, want (0, 1 GiB]", total)
	}
	if len(pids) != 4 {
		t.Errorf("%d mariadbd processes, want 4", len(pids))
	}
	// Applying the same databases again changes nothing: the same processes serve.
	if err := dt.ApplyDatabases(ctx, dbs); err != nil {
		t.Fatalf("apply databases again: %v", err)
	}
	for _, pr := range p.Status().Processes {
		if strings.HasSuffix(pr.Name, "/mariadbd") && !slices.Contains(pids, pr.Pid) {
			t.Errorf("%s restarted by a second apply (pid %d)", pr.Name, pr.Pid)
		}
	}
	_ = drRoot.Close()
	if err := dt.Close(); err != nil {
		t.Fatalf("data tier close: %v", err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
				t.Errorf("mariadbd pid %d still runs", pid)
			}
		}
	}
}

// testDRLink checks that the DR replica's link carries only its connections to the primary's 3306, and that
// the main VPC does not reach the DR VPC.
func testDRLink(t *testing.T, p *Platform) {
	try := func(from, addr string) error {
		c, err := DialFrom(context.Background(), p.NetnsName(from), netip.Addr{}, addr, 2*time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	if err := try("db-dr", "10.70.16.10:3306"); err != nil {
		t.Errorf("the DR replica cannot reach the primary's 3306: %v", err)
	}
	l, err := ListenIn(p.NetnsName("db-1"), "10.70.16.10:2222")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	for _, f := range [][2]string{{"db-dr", "10.70.16.10:2222"}, {"db-1", "10.71.16.10:3306"},
		{"app-1", "10.71.16.10:3306"}, {"db-dr", "10.70.17.10:3306"}} {
		if err := try(f[0], f[1]); err == nil {
			t.Errorf("%s reached %s: the DR link carries more than replication", f[0], f[1])
		}
	}
}

// testPlainTextRefused checks require_secure_transport: the right password over plain text is refused
// (MariaDB 10.11 answers 1045 Access denied), and it is the transport that is refused: the same login
// succeeds while the parameter is switched off for a moment.
func testPlainTextRefused(ctx context.Context, t *testing.T, p *Platform) {
	plain := openFrom(t, p, "app-1", "10.70.16.10:3306", false)
	if err := plain.PingContext(ctx); err == nil {
		t.Fatal("a plain-text client logged in to the primary")
	} else {
		t.Logf("plain-text client refused: %v", err)
	}
	root, err := sql.Open("mysql", rootDSN(socketPath(p.HostDir("db-1")+"/mysql/mysqld.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "SET GLOBAL require_secure_transport=OFF"); err != nil {
		t.Fatal(err)
	}
	plain.SetMaxIdleConns(0)
	if err := plain.PingContext(ctx); err != nil {
		t.Errorf("with require_secure_transport=OFF the plain-text login still fails: %v", err)
	}
	if _, err := root.ExecContext(ctx, "SET GLOBAL require_secure_transport=ON"); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("a new plain-text session succeeded after require_secure_transport=ON")
	}
}

func TestValidateDatabasesNamesEveryProblem(t *testing.T) {
	s := dataState()
	if err := ValidateDatabases(s, testDatabases()); err != nil {
		t.Fatalf("the test databases: %v", err)
	}
	dbs := testDatabases()
	dbs[0].MasterPassword = "it's"
	dbs[1].Host = "db-9"
	dbs[2].Source = "db-replica-1"
	dbs[3].Role = "standby"
	dbs = append(dbs, Database{Name: "db-x", Host: "db-dr", Role: RoleReplica, Source: "db", MasterUser: "a b", MasterPassword: "longenough"})
	err := ValidateDatabases(s, dbs)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"database db: master password",
		`database db-replica-1: host "db-9" is not in the state`,
		"database db-replica-2: source db-replica-1 is a replica, want a primary",
		`database db-dr: role "standby"`,
		"database db-x: host db-dr already runs database db-dr",
		`database db-x: master user "a b"`,
		"database db-x: a replica must be in its primary's vpc main",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWithReplicationAddsOnlyReplicationFlows(t *testing.T) {
	s := dataState()
	got := WithReplication(s, testDatabases(), nil)
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(s.Hosts[1].Groups) != 1 {
		t.Errorf("WithReplication changed its input: %v", s.Hosts[1].Groups)
	}
	m := members(got)
	var primary Host
	for _, h := range got.Hosts {
		if h.Name == "db-1" {
			primary = h
		}
	}
	rs := RenderRuleset("db-1", groupsOf(got.Groups, primary.Groups), m)
	for _, want := range []string{"ip saddr 10.70.17.10/32 tcp dport 3306 accept", "ip saddr 10.71.16.10/32 tcp dport 3306 accept"} {
		if !strings.Contains(rs, want) {
			t.Errorf("the primary's ruleset lacks %q:\n%s", want, rs)
		}
	}
}
