// Package livehome is a benchmark's plinth home on the live local cloud: plinth run in it (the home,
// Pulumi's home, the local cloud in its environment), its destroy, the platform's memory by pid tree from
// the live server's pid file, the wait and the verified HTTPS client the live benches share, and the
// unlogged fill of a generated database on the primary (bench-local-data, bench-drill).
package livehome

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/bench/internal/dataset"
	"github.com/plinth-dev/plinth/bench/internal/platmem"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/tlsx"
)

// Home is one plinth home and the binaries run in it.
type Home struct {
	Dir     string
	Plinth  string // the plinth binary
	Pulumi  string // the Pulumi CLI plinth drives
	Project string // the project directory (Pulumi.yaml)
}

// New is a home at dir with the binaries of $PLINTH and $PLINTH_PULUMI (default bin/plinth and bin/pulumi)
// and the working directory as the project.
func New(dir string) (Home, error) {
	h := Home{Dir: dir, Plinth: envOr("PLINTH", "bin/plinth"), Pulumi: envOr("PLINTH_PULUMI", "bin/pulumi")}
	var err error
	for _, p := range []*string{&h.Dir, &h.Plinth, &h.Pulumi} {
		if *p, err = filepath.Abs(*p); err != nil {
			return Home{}, err
		}
	}
	if h.Project, err = os.Getwd(); err != nil {
		return Home{}, err
	}
	return h, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Env is plinth's environment in the home (nothing else of ours: no credentials leak in).
func (h Home) Env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PLINTH_HOME=" + h.Dir,
		"PULUMI_HOME=" + filepath.Join(h.Dir, "pulumi-home"), "PLINTH_PULUMI=" + h.Pulumi, "PLINTH_CLOUD=local",
		"PULUMI_CONFIG_PASSPHRASE=bench", "PLINTH_PROJECT_DIR=" + h.Project, "CI=1"}
}

// Run runs plinth with args in the home (at most 20 minutes); the error carries the output's tail.
func (h Home) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Plinth, args...)
	cmd.Env, cmd.Dir = h.Env(), h.Project
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("plinth %s: %v: %s", strings.Join(args, " "), err, Tail(string(out)))
	}
	return string(out), nil
}

// Destroy destroys the stack on the local cloud and checks that the live server is gone with it.
func (h Home) Destroy(stack string) error {
	_, err := h.Run("destroy", "--stack", stack, "--cloud", "local", "--yes")
	if err != nil && strings.Contains(err.Error(), "because it is protected") {
		// production's backup vault bucket is protected against destroy; everything live is gone by then.
		err = nil
	}
	if pid, perr := os.ReadFile(h.PidFile()); perr == nil {
		err = errors.Join(err, fmt.Errorf("the live server (pid %s) still runs after destroy", strings.TrimSpace(string(pid))))
	}
	return err
}

// PidFile is the live server's pid file.
func (h Home) PidFile() string { return filepath.Join(h.Dir, "live", "live.pid") }

// Memory measures the live server and every process below it; supervised (may be nil) names the
// processes the server started ("host/kind", from its status), to count each below its kind.
func (h Home) Memory(supervised map[int]string) (platmem.Breakdown, error) {
	raw, err := os.ReadFile(h.PidFile())
	if err != nil {
		return platmem.Breakdown{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return platmem.Breakdown{}, fmt.Errorf("%s: %w", h.PidFile(), err)
	}
	return platmem.Measure(pid, supervised)
}

// Until polls ok every 100 ms until it holds or timeout passes.
func Until(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// HTTPSClient verifies servers with the CA of caFile (the live platform's), TLS 1.2 at least.
func HTTPSClient(caFile string) (*http.Client, error) {
	pool, err := tlsx.CAPool(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// Tail is the last 1500 bytes of s.
func Tail(s string) string {
	if len(s) > 1500 {
		s = s[len(s)-1500:]
	}
	return s
}

// PrimarySocket is the name of st's primary and the unix socket its running mariadbd listens on (read from
// its command line's --socket=): root connects there, on the machine, to fill a database unlogged.
func PrimarySocket(st live.StackStatus) (name, socket string, err error) {
	for _, d := range st.Databases {
		if d.Role == live.RolePrimary {
			name = d.Name
		}
	}
	pid := 0
	for _, p := range st.Processes {
		if name != "" && p.Name == name+"/mariadbd" && p.Running {
			pid = p.Pid
		}
	}
	if pid == 0 {
		return "", "", errors.New("no running primary mariadbd in the live status")
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return name, "", fmt.Errorf("primary %s: %w", name, err)
	}
	for _, a := range strings.Split(string(raw), "\x00") {
		if s, ok := strings.CutPrefix(a, "--socket="); ok {
			return name, s, nil
		}
	}
	return name, "", fmt.Errorf("primary %s: mariadbd (pid %d) has no --socket=", name, pid)
}

// FillPrimary generates database name (the bench-backup tables, rows rows each: 1600 rows are ~1 MB of dump)
// on st's primary as root on its socket, unlogged (the replicas do not replay it), its buffer pool raised to
// bufferPool meanwhile when not 0 and set back after. A database already generated so is reused.
func FillPrimary(ctx context.Context, st live.StackStatus, name string, rows int, bufferPool int64) error {
	primary, sock, err := PrimarySocket(st)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Stack, err)
	}
	db, err := sql.Open("mysql", "root@unix("+sock+")/")
	if err != nil {
		return err
	}
	defer db.Close()
	if bufferPool > 0 {
		var orig int64
		if err := db.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&orig); err != nil {
			return fmt.Errorf("primary %s: %w", primary, err)
		}
		if err := resizeBufferPool(ctx, db, bufferPool); err != nil {
			return fmt.Errorf("primary %s: %w", primary, err)
		}
		defer func() {
			if err := resizeBufferPool(ctx, db, orig); err != nil {
				fmt.Fprintf(os.Stderr, "primary %s: setting the buffer pool back: %v\n", primary, err)
			}
		}()
	}
	start := time.Now()
	if err := dataset.Generate(ctx, db, name, dataset.Uniform(rows), os.Stdout); err != nil {
		return fmt.Errorf("primary %s: %w", primary, err)
	}
	fmt.Printf("database %s on the primary %s ready in %.1f s\n", name, primary, time.Since(start).Seconds())
	return nil
}

// resizeBufferPool sets innodb_buffer_pool_size and waits until InnoDB has resized it.
func resizeBufferPool(ctx context.Context, db *sql.DB, size int64) error {
	var have int64
	var name, before string
	if err := db.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&have); err != nil {
		return err
	}
	if have == size {
		return nil
	}
	_ = db.QueryRowContext(ctx, "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'").Scan(&name, &before)
	if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_buffer_pool_size = "+strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("buffer pool to %d MiB: %w", size>>20, err)
	}
	err := Until(5*time.Minute, func() bool {
		var st string
		err := db.QueryRowContext(ctx, "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'").Scan(&name, &st)
		// MariaDB >= 10.11.12 resizes within the SET and leaves the status empty; older ones in the background.
		return err == nil && (st == "" || st != before && strings.HasPrefix(st, "Completed"))
	})
	if err != nil {
		return fmt.Errorf("buffer pool to %d MiB: resize %w", size>>20, err)
	}
	return nil
}
