package live

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Executables of the data tier.
const (
	mariadbdBin  = "/usr/sbin/mariadbd"
	installDBBin = "/usr/bin/mariadb-install-db"
)

// replUser is the replication account every server of a tier has (not binlogged: each server creates its
// own, so replicas start from an empty GTID position and replay the primary's whole binlog).
const replUser = "plinth_repl"

// dbRunning is a started database: its host's namespace and its files under the host's directory.
type dbRunning struct {
	spec   Database
	addr   netip.Addr
	host   string
	anchor int
	dir    string
}

func (r *dbRunning) procName() string       { return r.host + "/mariadbd" }
func (r *dbRunning) path(rel string) string { return filepath.Join(r.dir, rel) }
func (r *dbRunning) socket() string         { return socketPath(r.path("mysqld.sock")) }
func (r *dbRunning) endpoint() string {
	return net.JoinHostPort(r.addr.String(), strconv.Itoa(MySQLPort))
}
func (r *dbRunning) root() (*sql.DB, error) { return sql.Open("mysql", rootDSN(r.socket())) }
func (r *dbRunning) certFile() string       { return r.path("server.pem") }
func (r *dbRunning) errorLog() string       { return tail(r.path("error.log"), 3000) }
func (r *dbRunning) serverID() uint32       { return serverID(r.addr) }
func (dt *DataTier) caFile() string         { return dt.p.ca.CAFile }
func (dt *DataTier) lockedHost(n string) *host {
	dt.p.mu.Lock()
	defer dt.p.mu.Unlock()
	return dt.p.hosts[n]
}

// maxSocketPath keeps a unix socket's path within sun_path (108 bytes, NUL included): mariadbd refuses a
// longer one, which a deep plinth home (a test's temporary directory) reaches.
const maxSocketPath = 100

// socketPath is p, or where p is too long for a unix socket, a short path in the temporary directory named
// by p's hash (the hosts share /tmp with this machine; mariadbd removes its socket when it stops).
func socketPath(p string) string {
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(os.TempDir(), "plt-"+hex.EncodeToString(sum[:6])+"-"+filepath.Base(p))
}

func rootDSN(socket string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", socket
	return c.FormatDSN()
}

// serverID derives a server_id from the address: unique on the platform, stable across restarts.
func serverID(a netip.Addr) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(a.AsSlice())
	return h.Sum32()%4000000000 + 1
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the kernel's CSPRNG does not fail
	}
	return hex.EncodeToString(b)
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ApplyDatabases brings the running databases to dbs: gone or changed ones stopped, new ones initialised and
// started (primaries' and replicas' accounts, then each replica's replication, over the DR link for a DR
// replica). Call it after Platform.Apply with the state WithReplication returned.
func (dt *DataTier) ApplyDatabases(ctx context.Context, dbs []Database) error {
	if err := ValidateDatabases(dt.state(), dbs); err != nil {
		return err
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	want := map[string]Database{}
	for _, d := range dbs {
		want[d.Name] = d
	}
	var errs []error
	for _, n := range sortedKeys(dt.dbs) {
		if d, ok := want[n]; !ok || d != dt.dbs[n].spec || dt.hostReplaced(d.Host, dt.dbs[n].anchor) {
			errs = append(errs, dt.stopDB(n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var fresh []*dbRunning
	for _, d := range dbs {
		if _, ok := dt.dbs[d.Name]; ok {
			continue
		}
		rh := dt.lockedHost(d.Host)
		if rh == nil {
			return fmt.Errorf("database %s: host %s is not running (Apply first)", d.Name, d.Host)
		}
		r := &dbRunning{spec: d, addr: rh.spec.Address, host: d.Host, anchor: rh.anchor, dir: rh.path("mysql")}
		dt.dbs[d.Name] = r
		fresh = append(fresh, r)
	}
	// Initialise and start every new server at once (mariadb-install-db is the slow part).
	var wg sync.WaitGroup
	errc := make(chan error, len(fresh))
	for _, r := range fresh {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dt.startDB(ctx, r); err != nil {
				errc <- fmt.Errorf("database %s: %w", r.spec.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, r := range fresh {
		if r.spec.Role == RolePrimary {
			if err := dt.grantApp(ctx, r); err != nil {
				return fmt.Errorf("database %s: %w", r.spec.Name, err)
			}
			continue
		}
		src := dt.dbs[r.spec.Source]
		if r.spec.Role == RoleDRReplica {
			if err := dt.ensureLink(ctx, src, r); err != nil {
				return fmt.Errorf("database %s: %w", r.spec.Name, err)
			}
		}
		if err := dt.replicate(ctx, src, r); err != nil {
			return fmt.Errorf("database %s: %w", r.spec.Name, err)
		}
	}
	return nil
}

// startDB initialises the datadir (once), issues the server certificate, starts mariadbd in the host's
// namespaces and creates the accounts.
func (dt *DataTier) startDB(ctx context.Context, r *dbRunning) error {
	for _, d := range []string{"data", "tmp"} {
		if err := os.MkdirAll(r.path(d), 0o700); err != nil {
			return err
		}
	}
	if err := dt.p.ca.issue(r.certFile(), []string{r.spec.Name, "localhost"}, []netip.Addr{r.addr, netip.MustParseAddr("127.0.0.1")}); err != nil {
		return err
	}
	if _, err := os.Stat(r.path("data/mysql")); errors.Is(err, os.ErrNotExist) {
		out, err := exec.CommandContext(ctx, installDBBin, "--no-defaults", "--user=root", "--datadir="+r.path("data"),
			"--auth-root-authentication-method=socket", "--skip-test-db", "--tmpdir="+r.path("tmp")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mariadb-install-db: %w: %s", err, tail2(out))
		}
	}
	if err := dt.runInHost(r.procName(), r.anchor, r.path("mariadbd.log"), mariadbdBin, mariadbdArgs(r, dt.caFile())...); err != nil {
		return err
	}
	err := waitFor(90*time.Second, func() (bool, error) {
		if _, ok := dt.p.sup.Running(r.procName()); !ok {
			return false, fmt.Errorf("mariadbd exited: %s%s", tail(r.path("mariadbd.log"), 1000), r.errorLog())
		}
		db, err := r.root()
		if err != nil {
			return false, nil
		}
		defer db.Close()
		return db.PingContext(ctx) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("mariadbd: %w\n%s", err, r.errorLog())
	}
	return dt.bootstrap(ctx, r)
}

func tail2(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// mariadbdArgs is the server's whole configuration (no my.cnf is read): the host's address, binlogs with
// GTIDs, TLS from the live CA, small buffers, read_only on replicas.
func mariadbdArgs(r *dbRunning, caFile string) []string {
	bp := r.spec.BufferPool
	if bp == "" {
		bp = DefaultBufferPool
	}
	secure := "OFF"
	if r.spec.RequireSecureTransport {
		secure = "ON"
	}
	args := []string{"--no-defaults", "--user=root", "--datadir=" + r.path("data"), "--tmpdir=" + r.path("tmp"),
		"--socket=" + r.socket(), "--pid-file=" + r.path("mysqld.pid"), "--log-error=" + r.path("error.log"),
		"--bind-address=" + r.addr.String(), "--port=" + strconv.Itoa(MySQLPort), "--skip-name-resolve",
		fmt.Sprintf("--server-id=%d", r.serverID()), "--log-bin=mysql-bin", "--binlog-format=ROW",
		"--log-slave-updates=ON", "--gtid-strict-mode=ON", "--relay-log=relay-bin",
		"--ssl-ca=" + caFile, "--ssl-cert=" + r.certFile(), "--ssl-key=" + r.certFile(),
		"--require-secure-transport=" + secure,
		// Small: a production stack's four servers stay well under the memory target.
		"--innodb-buffer-pool-size=" + bp, "--innodb-log-file-size=48M", "--innodb-log-buffer-size=4M",
		"--innodb-flush-log-at-trx-commit=2", "--performance-schema=OFF", "--aria-pagecache-buffer-size=4M",
		"--key-buffer-size=1M", "--query-cache-size=0", "--query-cache-type=0", "--table-open-cache=256",
		"--table-definition-cache=256", "--max-connections=100", "--thread-cache-size=8", "--thread-stack=256K",
		"--character-set-server=utf8mb4", "--max-allowed-packet=64M"}
	if r.spec.Role != RolePrimary {
		args = append(args, "--read-only=ON", "--skip-slave-start=OFF")
	}
	return args
}

// bootstrap creates the master and replication accounts, unlogged (every server creates its own).
func (dt *DataTier) bootstrap(ctx context.Context, r *dbRunning) error {
	db, err := r.root()
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	u, pw := r.spec.MasterUser, r.spec.MasterPassword
	for _, q := range []string{
		"SET SESSION sql_log_bin=0",
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", u, pw),
		fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", u, pw),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", u),
		// As on RDS, the master user cannot write to a read-only replica.
		fmt.Sprintf("REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM '%s'@'%%'", u),
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", replUser, dt.replPassword),
		fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", replUser, dt.replPassword),
		fmt.Sprintf("GRANT REPLICATION SLAVE ON *.* TO '%s'@'%%'", replUser),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bootstrap: %s: %w", strings.Join(strings.Fields(q)[:2], " "), err)
		}
	}
	return nil
}

// replicate points a replica at its source over TLS (the source's certificate verified against the CA) with
// GTID positions, and waits until both replication threads run.
func (dt *DataTier) replicate(ctx context.Context, src, r *dbRunning) error {
	db, err := r.root()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		"STOP SLAVE",
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', "+
			"MASTER_USE_GTID=slave_pos, MASTER_SSL=1, MASTER_SSL_CA='%s', MASTER_SSL_VERIFY_SERVER_CERT=1, MASTER_CONNECT_RETRY=1",
			src.addr, MySQLPort, replUser, dt.replPassword, dt.caFile()),
		"START SLAVE",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("replication from %s: %s: %w", src.spec.Name, strings.Fields(q)[0], err)
		}
	}
	var last map[string]string
	err = waitFor(60*time.Second, func() (bool, error) {
		st, err := r.slaveStatus(ctx)
		if err != nil {
			return false, nil
		}
		last = st
		return st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes", nil
	})
	if err != nil {
		return fmt.Errorf("replication from %s (%s): %w: io %s sql %s: %s %s", src.spec.Name, src.endpoint(), err,
			last["Slave_IO_Running"], last["Slave_SQL_Running"], last["Last_IO_Error"], last["Last_SQL_Error"])
	}
	return nil
}

// hostReplaced says whether a host no longer runs with the anchor a server was started under (the platform
// re-created or removed it): the server is started again in the new host.
func (dt *DataTier) hostReplaced(name string, anchor int) bool {
	rh := dt.lockedHost(name)
	return rh == nil || rh.anchor != anchor
}

// state is the platform's current desired state.
func (dt *DataTier) state() State {
	dt.p.mu.Lock()
	defer dt.p.mu.Unlock()
	return dt.p.state
}

// runInHost starts bin under the supervisor (restarted when it exits) inside a host's network and mount
// namespaces, logging to logPath.
func (dt *DataTier) runInHost(name string, anchor int, logPath, bin string, args ...string) error {
	argv := append([]string{nsenterBin, "--target", strconv.Itoa(anchor), "--net", "--mount", "--", bin}, args...)
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	_, err = dt.p.sup.Start(name, true, func() (*exec.Cmd, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		return cmd, nil
	})
	return err
}

// stopDB stops a database's server (its files stay with its host) and its DR link.
func (dt *DataTier) stopDB(name string) error {
	r := dt.dbs[name]
	err := dt.p.sup.Forget(r.procName(), 60*time.Second)
	if l, ok := dt.links[name]; ok {
		err = errors.Join(err, dt.removeLink(l))
		delete(dt.links, name)
	}
	delete(dt.dbs, name)
	if err != nil {
		return fmt.Errorf("database %s: stop: %w", name, err)
	}
	return nil
}

// Close stops every server of the tier (replicas first) and removes the DR links; call it before the
// platform's Close.
func (dt *DataTier) Close() error {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	errs := []error{dt.closeVaults(), dt.closeCaches()}
	for _, role := range []string{RoleDRReplica, RoleReplica, RolePrimary} {
		for _, n := range sortedKeys(dt.dbs) {
			if dt.dbs[n].spec.Role == role {
				errs = append(errs, dt.stopDB(n))
			}
		}
	}
	return errors.Join(errs...)
}
