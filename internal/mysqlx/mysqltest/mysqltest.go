// Package mysqltest starts a real MariaDB server (Debian's mariadbd) on a 127.0.0.1 port with its own
// datadir, for tests and benchmarks. It runs as root with --user=root, waits until the server answers, creates
// a password-authenticated TCP user, and stops the server when done.
package mysqltest

import (
	"context"
	"database/sql"

	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// User and Password are the credentials of the TCP account every server gets.
const (
	User     = "plinth"
	Password = "plinth-test-pw"
)

// Options tune a server.
type Options struct {
	// Dir holds datadir, socket and log. Empty: a fresh temp dir (removed by Stop). An existing initialised
	// Dir is reused (benchmarks keep their generated data).
	Dir string
	// BufferPool is innodb_buffer_pool_size (default 256M).
	BufferPool string
	// Extra mariadbd flags.
	Extra []string
	// Log receives the server's error log on failure (default: stderr).
	Log func(string)
}

// Server is a running mariadbd.
type Server struct {
	Dir  string
	Port int
	cmd  *exec.Cmd
	tmp  bool
	done chan error
}

// DSN returns a go-sql-driver DSN for the TCP user and database db (may be empty).
func (s *Server) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = User, Password, "tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), db
	return c.FormatDSN()
}

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Socket is the unix socket path (root access without password).
func (s *Server) Socket() string { return filepath.Join(s.Dir, "mysqld.sock") }

func binary(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			if p := filepath.Join(d, n); fileExists(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("mysqltest: none of %v found: run ./scripts/install-test-deps.sh (mariadb-server)", names)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Main is a package's TestMain around one real server: start it, point *srv at it, run the tests, stop it,
// exit with the tests' code. A server that cannot start fails the run (never a skip).
func Main(m *testing.M, o Options, srv **Server) {
	s, err := Start(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Start initialises (if needed) and starts a server.
func Start(ctx context.Context, o Options) (*Server, error) {
	mariadbd, err := binary("mariadbd", "mysqld")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: o.Dir}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "plinth-mariadb-")
		if err != nil {
			return nil, fmt.Errorf("mysqltest: %w", err)
		}
		s.Dir, s.tmp = d, true
	}
	datadir := filepath.Join(s.Dir, "data")
	// Its own tmpdir: servers sharing /tmp delete each other's temporary tables (seen when two test
	// packages bootstrap at once: "Error on delete of '/tmp/#sql-temptable-...'").
	tmpdir := filepath.Join(s.Dir, "tmp")
	if err := os.MkdirAll(tmpdir, 0o700); err != nil {
		return nil, fmt.Errorf("mysqltest: %w", err)
	}
	fresh := !fileExists(filepath.Join(datadir, "mysql"))
	if fresh {
		installDB, err := binary("mariadb-install-db", "mysql_install_db")
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(datadir, 0o700); err != nil {
			return nil, fmt.Errorf("mysqltest: %w", err)
		}
		out, err := exec.CommandContext(ctx, installDB, "--no-defaults", "--user=root", "--datadir="+datadir,
			"--auth-root-authentication-method=socket", "--skip-test-db", "--tmpdir="+tmpdir).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("mysqltest: mariadb-install-db: %w\n%s", err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("mysqltest: free port: %w", err)
	}
	s.Port = port
	bp := o.BufferPool
	if bp == "" {
		bp = "256M"
	}
	args := []string{"--no-defaults", "--user=root", "--datadir=" + datadir, "--tmpdir=" + tmpdir,
		"--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", port), "--socket=" + s.Socket(),
		"--pid-file=" + filepath.Join(s.Dir, "mysqld.pid"), "--log-error=" + filepath.Join(s.Dir, "error.log"),
		"--skip-name-resolve", "--log-bin=mysql-bin", "--server-id=1", "--binlog-format=ROW",
		"--innodb-buffer-pool-size=" + bp, "--innodb-log-file-size=256M", "--innodb-flush-log-at-trx-commit=2",
		"--local-infile=1", "--max-allowed-packet=64M", "--character-set-server=utf8mb4"}
	args = append(args, o.Extra...)
	s.cmd = exec.Command(mariadbd, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("mysqltest: start mariadbd: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.ensureUser(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) rootDSN() string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", s.Socket()
	return c.FormatDSN()
}

func (s *Server) waitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("mysqltest: mariadbd exited: %v\n%s", err, s.ErrorLog())
		default:
		}
		db, err := sql.Open("mysql", s.rootDSN())
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mysqltest: mariadbd not ready after %v: %v\n%s", d, err, s.ErrorLog())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) ensureUser(ctx context.Context) error {
	db, err := sql.Open("mysql", s.rootDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s'", User, Password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1' WITH GRANT OPTION", User),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("mysqltest: %s: %w", strings.Fields(q)[0], err)
		}
	}
	return nil
}

// ErrorLog returns the tail of the server's error log.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Root opens a root connection over the unix socket.
func (s *Server) Root() (*sql.DB, error) { return sql.Open("mysql", s.rootDSN()) }

// Stop shuts the server down (SIGTERM, then SIGKILL after 30s) and removes a temp dir.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	if s.tmp {
		_ = os.RemoveAll(s.Dir)
	}
}

// New starts a fresh server for a test and stops it at cleanup. It fails the test (never skips) when
// MariaDB is missing: CI installs it with scripts/install-test-deps.sh.
func New(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{BufferPool: "128M"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Open opens the TCP user's connection pool to db and closes it at cleanup.
func (s *Server) Open(t testing.TB, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Exec runs statements as the TCP user, failing the test on error.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	d := s.Open(t, "")
	for _, q := range stmts {
		if _, err := d.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Grants is SHOW GRANTS FOR account (e.g. 'app'@'%'), one line per grant, failing the test on error.
func (s *Server) Grants(t testing.TB, account string) []string {
	t.Helper()
	rows, err := s.Open(t, "").Query("SHOW GRANTS FOR " + account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Checksum is CHECKSUM TABLE table on d, failing the test on error.
func Checksum(t testing.TB, d *sql.DB, table string) string {
	t.Helper()
	var name, sum string
	if err := d.QueryRow("CHECKSUM TABLE "+table).Scan(&name, &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}
