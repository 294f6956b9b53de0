package livecloud_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/plinth-dev/plinth/components/userdata"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
	"github.com/plinth-dev/plinth/internal/tlsx"
)

// TestWorkerBackupUnitsLive is issue 12 item 6 and issue 14's streamer as a worker service, on the live
// local cloud: a staging spec naming a recipient; after `up` and `backup grant`, the worker's timer (every
// 15 s here: PLINTH_LIVE_BACKUP_INTERVAL) takes backups `backup list --stack staging --cloud local` shows,
// and its binlog service streams segments the vault's chain verification finds after a backup. The worker
// reaches the vault on the platform's internet (its egress rule allows 443), the database host cannot, and
// the units' secrets are 0600 for their user and in no log.
func TestWorkerBackupUnitsLive(t *testing.T) {
	localcloudtest.LockLiveStack(t, "staging")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	home, project := t.TempDir(), projectCopy(t, root)
	run, plinth := runners(t, plinthRunner(t, root, project, home, "PLINTH_LOCAL_LIVE=1", live.EnvBackupInterval+"=15s"))
	key := filepath.Join(t.TempDir(), "restore.key")
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(plinth("backup", "keygen", "--out", key))
	addRecipient(t, project, "staging", recipient)

	start := time.Now()
	plinth("up", "--stack", "staging", "--cloud", "local")
	t.Logf("up: %s", time.Since(start).Round(time.Second))
	st := rawStatus(t, filepath.Join(home, "live"), "staging")
	ns := func(host string) string { return hostNS(home, "staging", host) }
	worker := ""
	if ws := st.hostsOf("worker"); len(ws) > 0 {
		worker = ws[0]
	}
	primary, dbHost := st.primary()
	if worker == "" || dbHost == "" || st.Vault == nil || st.Vault.PlatformEndpoint != live.PlatformVaultEndpoint() {
		t.Fatalf("status: worker %q, database host %q, vault %+v", worker, dbHost, st.Vault)
	}

	// The vault on the platform's internet: the worker reaches it (TLS verified with the live CA), the
	// database host has no route to it, and the operator's 127.0.0.1 port still answers.
	vault := netip.AddrPortFrom(live.VaultAddr(), 443).String()
	if code := vaultGet(t, st.CAFile, ns(worker), vault); code != http.StatusUnauthorized {
		t.Errorf("worker -> vault: HTTP %d, want 401 (reached, no token)", code)
	}
	ctx := context.Background()
	if c, err := live.DialFrom(ctx, ns(dbHost), netip.Addr{}, vault, 3*time.Second); err == nil {
		c.Close()
		t.Errorf("the database host %s reaches the vault: its egress rules allow no HTTPS", dbHost)
	} else {
		t.Logf("database host -> vault: %v", err)
	}

	plinth("backup", "grant", "--stack", "staging")
	hostDir := hostDirOf(home, "staging", worker)
	binlogLog := filepath.Join(hostDir, "log", userdata.BinlogUnit+".log")
	waitLog(t, binlogLog, "streaming from GTID", 90*time.Second)

	// Transactions for the streamer, on the primary as the master user.
	db := masterDB(t, st, ns(dbHost), primary)
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS wb", "CREATE TABLE IF NOT EXISTS wb.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := 0; i < 20; i++ {
		if _, err := db.Exec("INSERT INTO wb.t (v) VALUES (?)", fmt.Sprintf("row %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, binlogLog, "binlog: segment 1:", 3*time.Minute)

	// A backup the timer took after the segment: it verifies, with its binlog chain.
	var rep struct {
		ID     string `json:"id"`
		OK     bool   `json:"ok"`
		Binlog *struct {
			Segments int      `json:"segments"`
			Gaps     []string `json:"gaps"`
		} `json:"binlog"`
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := run("backup", "verify", "latest", "-i", key, "--stack", "staging", "--cloud", "local", "-q", "-o", "json", "--no-mark")
		if err == nil && json.Unmarshal([]byte(out), &rep) == nil && rep.OK && rep.Binlog != nil && rep.Binlog.Segments >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backup of the worker's with a verified binlog chain: %v\n%s", err, tailOf([]byte(out)))
		}
		time.Sleep(5 * time.Second)
	}
	t.Logf("backup %s verified with %d binlog segment(s), %s after up", rep.ID, rep.Binlog.Segments, time.Since(start).Round(time.Second))
	if out := plinth("backup", "list", "--stack", "staging", "--cloud", "local"); !strings.Contains(out, rep.ID) {
		t.Errorf("backup list does not show %s:\n%s", rep.ID, out)
	}
	backupLog, _ := os.ReadFile(filepath.Join(hostDir, "log", userdata.BackupUnit+".log"))
	if !strings.Contains(string(backupLog), userdata.BackupTimer+" fired") {
		t.Errorf("the worker's backup log:\n%s", tailOf(backupLog))
	}

	// The units' secrets: 0600, owned by their user; no password or token in any log of the worker.
	secrets := map[string]string{}
	for _, f := range []string{userdata.BackupSecretFile, userdata.BackupWriterToken} {
		path := filepath.Join(hostDir, "srv", strings.TrimPrefix(f, "/srv/"))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if sys := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || sys.Uid != 2001 {
			t.Errorf("%s: mode %v uid %d, want 0600 for the units' user", f, fi.Mode().Perm(), sys.Uid)
		}
		b, _ := os.ReadFile(path)
		secrets[f] = string(b)
	}
	var creds struct{ Password string }
	_ = json.Unmarshal([]byte(secrets[userdata.BackupSecretFile]), &creds)
	logs, _ := filepath.Glob(filepath.Join(hostDir, "log", "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		for _, s := range []string{creds.Password, strings.TrimSpace(secrets[userdata.BackupWriterToken])} {
			if len(s) >= 16 && strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret", l)
			}
		}
	}
	plinth("destroy", "--stack", "staging", "--cloud", "local", "--yes")
}

// addRecipient names recipient in the copy's spec of stack (backupVault is its last block).
func addRecipient(t *testing.T, project, stack, recipient string) {
	t.Helper()
	path := filepath.Join(project, "environments", "Pulumi."+stack+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimRight(string(b), "\n")
	if !strings.Contains(s, "\n    backupVault:") || recipient == "" {
		t.Fatalf("%s spec has no backupVault block, or no recipient %q", stack, recipient)
	}
	if err := os.WriteFile(path, []byte(s+"\n      recipients:\n        - "+recipient+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runners wraps plinthRunner's runner: run returns the command's output (stdout and stderr) and its error,
// plinth fails the test on an error.
func runners(t *testing.T, runOut func(args ...string) ([]byte, []byte, error)) (run func(args ...string) (string, error), plinth func(args ...string) string) {
	run = func(args ...string) (string, error) {
		stdout, stderr, err := runOut(args...)
		return string(stdout) + string(stderr), err
	}
	plinth = func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("plinth %s: %v\n%s", strings.Join(args, " "), err, tailOf([]byte(out)))
		}
		return out
	}
	return run, plinth
}

// hostNS is the network namespace of a host of stack's platform under plinth home.
func hostNS(home, stack, host string) string {
	return live.NamePrefix + live.PlatformID(filepath.Join(home, "live"), stack) + "-" + host
}

// hostDirOf is a host's private directory (its /srv, its units' logs under log/).
func hostDirOf(home, stack, host string) string {
	return filepath.Join(home, "live", "stacks", live.StackID(stack), "hosts", host)
}

// liveStatus is the part of the live server's status these tests read.
type liveStatus struct {
	CAFile      string `json:"caFile"`
	SecretsFile string `json:"secretsFile"`
	Hosts       []struct {
		Name, Tier, Address, State string
	} `json:"hosts"`
	Processes []live.ProcessInfo `json:"processes"`
	Databases []struct {
		Role, Address string
	} `json:"databases"`
	Vault *struct {
		Bucket           string            `json:"bucket"`
		Endpoint         string            `json:"endpoint"`
		PlatformEndpoint string            `json:"platformEndpoint"`
		TokenFiles       map[string]string `json:"tokenFiles"`
	} `json:"vault"`
}

// hostsOf names the hosts of tier, in the status's order.
func (st liveStatus) hostsOf(tier string) []string {
	var out []string
	for _, h := range st.Hosts {
		if h.Tier == tier {
			out = append(out, h.Name)
		}
	}
	return out
}

// addressOf is host's address ("" when there is no such host).
func (st liveStatus) addressOf(host string) string {
	for _, h := range st.Hosts {
		if h.Name == host {
			return h.Address
		}
	}
	return ""
}

// primary is the primary database's address and the host that runs it ("" when there is none).
func (st liveStatus) primary() (addr, host string) {
	for _, d := range st.Databases {
		if d.Role == "primary" {
			addr = d.Address
		}
	}
	for _, h := range st.Hosts {
		if addr != "" && h.Address == addr {
			host = h.Name
		}
	}
	return addr, host
}

// rawStatus reads stack's status from the live server's socket.
func rawStatus(t *testing.T, dir, stack string) liveStatus {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", live.SocketPath(dir))
	}}}
	resp, err := c.Get("http://live/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Stacks []struct {
			Stack string `json:"stack"`
			liveStatus
		} `json:"stacks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Stacks {
		if s.Stack == stack {
			return s.liveStatus
		}
	}
	t.Fatalf("no %s in the live status", stack)
	return liveStatus{}
}

// vaultGet GETs the vault's bucket list from inside namespace ns, TLS verified with the CA.
func vaultGet(t *testing.T, caFile, ns, addr string) int {
	t.Helper()
	pool := caPool(t, caFile)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
			return live.DialFrom(ctx, ns, netip.Addr{}, a, 5*time.Second)
		}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/storage/v1/b")
	if err != nil {
		t.Fatalf("GET from %s: %v", ns, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func caPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pool, err := tlsx.CAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// masterDB opens the primary as the master user (the managed secret in the local Secrets Manager) from the
// primary's own namespace, TLS verified.
func masterDB(t *testing.T, st liveStatus, ns, addr string) *sql.DB {
	t.Helper()
	raw, err := os.ReadFile(st.SecretsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Secrets map[string]string `json:"secrets"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var creds struct{ Username, Password string }
	for id, v := range f.Secrets {
		if strings.Contains(id, "rds!db") {
			_ = json.Unmarshal([]byte(v), &creds)
		}
	}
	if creds.Username == "" {
		t.Fatal("no master secret in the local Secrets Manager")
	}
	return dbFrom(t, ns, addr, st.CAFile, creds.Username, creds.Password)
}

// dbFrom opens the MariaDB server at addr:3306 as user, dialled from inside namespace ns, TLS verified with
// caFile; closed when the test ends.
func dbFrom(t *testing.T, ns, addr, caFile, user, password string) *sql.DB {
	t.Helper()
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.Timeout = user, password, "tcp", net.JoinHostPort(addr, "3306"), 5*time.Second
	c.TLS = &tls.Config{RootCAs: caPool(t, caFile), ServerName: addr, MinVersion: tls.VersionTLS12}
	c.DialFunc = func(ctx context.Context, _, a string) (net.Conn, error) {
		return live.DialFrom(ctx, ns, netip.Addr{}, a, 5*time.Second)
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// waitLog waits until the file holds want.
func waitLog(t *testing.T, path, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s:\n%s", path, want, timeout, tailOf(b))
		}
		time.Sleep(time.Second)
	}
}
