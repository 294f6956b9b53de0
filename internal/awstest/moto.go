// Package awstest starts moto's server (an AWS API emulator: `moto_server`, from `pip install 'moto[server]'`,
// which scripts/install-test-deps.sh checks) on a free 127.0.0.1 port for tests, and hands out SDK configs
// and environments pointed at it with dummy credentials. Each Server is its own process, stopped (by its
// pid, only that process) when the test ends.
package awstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Dummy credentials moto accepts (it checks none); the account is moto's default.
const (
	AccessKeyID     = "testing"
	SecretAccessKey = "testing"
	Account         = "123456789012"
)

// Server is a running moto server.
type Server struct {
	// Endpoint is its base URL (http://127.0.0.1:PORT): every service answers there.
	Endpoint string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

// command finds moto's server: moto_server on PATH, else python3 -m moto.server.
func command() ([]string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	if py, err := exec.LookPath("python3"); err == nil && exec.Command(py, "-c", "import moto.server").Run() == nil {
		return []string{py, "-m", "moto.server"}, nil
	}
	return nil, errors.New("awstest: moto's server is not installed (no moto_server, no python3 -m moto.server): run scripts/install-test-deps.sh")
}

// running is the line werkzeug prints once it listens: with port 0 the kernel picked a free port, so two
// servers (other packages' tests) never collide.
var running = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start starts a moto server for t and stops it when t ends. It fails t when moto is missing or does not
// answer within a minute.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("awstest: %v", err)
		}
	})
	return s
}

func start(wait time.Duration) (*Server, error) {
	argv, err := command()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-H", "127.0.0.1", "-p", "0")...)
	// No credentials or endpoint of the caller's leak into the server; no IMDS lookups.
	cmd.Env = append(minimalEnv(), "AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID="+AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+SecretAccessKey, "PYTHONUNBUFFERED=1")
	// Its own process group (a Ctrl-C of the test run does not reach it first); killed when the test binary
	// dies without cleanup (a timeout, a crash), so no server outlives its test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("awstest: start %s: %w", argv[0], err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go s.readLog(stderr, found)
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	select {
	case s.Endpoint = <-found:
	case <-s.done:
		return nil, fmt.Errorf("awstest: moto server exited before listening:\n%s", s.Log())
	case <-deadline.C:
		_ = s.Stop()
		return nil, fmt.Errorf("awstest: moto server not listening after %s:\n%s", wait, s.Log())
	}
	if err := s.waitAnswers(wait); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) readLog(r io.Reader, found chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		if s.log.Len() < 64<<10 {
			s.log.WriteString(line + "\n")
		}
		s.mu.Unlock()
		if m := running.FindStringSubmatch(line); m != nil && !sent {
			found <- m[1]
			sent = true
		}
	}
}

// waitAnswers polls moto's own API until the server answers HTTP.
func (s *Server) waitAnswers(wait time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(wait)
	for {
		resp, err := client.Get(s.Endpoint + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("awstest: moto server at %s does not answer: %w", s.Endpoint, err)
		}
		select {
		case <-s.done:
			return fmt.Errorf("awstest: moto server exited:\n%s", s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log is what the server printed (its request log), for failure messages.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Reset drops every resource the server holds (moto's reset API), for a test that reuses a server.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("awstest: reset %s: %w", s.Endpoint, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("awstest: reset %s: HTTP %d", s.Endpoint, resp.StatusCode)
	}
	return nil
}

// Stop ends the server: SIGTERM to its pid, SIGKILL after 5 s. Idempotent.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop moto server pid %d: %w", s.cmd.Process.Pid, err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill moto server pid %d: %w", s.cmd.Process.Pid, err)
	}
	<-s.done
	return nil
}

// Config is an SDK config for region pointed at the server, with the dummy credentials.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// Env is the environment under which the SDK's default chain (config.LoadDefaultConfig) reaches the server:
// AWS_ENDPOINT_URL, the dummy credentials, no shared config files, no IMDS. For t.Setenv or a Getenv.
func (s *Server) Env(dir string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            s.Endpoint,
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             dir + "/aws-config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/aws-credentials",
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// SetEnv applies Env to the test's process environment (restored when t ends; t must not be parallel).
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	for k, v := range s.Env(t.TempDir()) {
		t.Setenv(k, v)
	}
}

// minimalEnv keeps what python needs to run (PATH, HOME, pyenv's selection) and nothing AWS.
func minimalEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "LANG" || strings.HasPrefix(k, "PYENV") || k == "TMPDIR" {
			env = append(env, kv)
		}
	}
	return env
}

// DRChain is production's database as a stack with a DR region has it in moto: the primary in Region and
// its cross-region read replica (the DR replica) in DRRegion.
type DRChain struct {
	Region, DRRegion string
	// PrimaryARN is the primary's ARN: what the DR replica reports as its source.
	PrimaryARN string
	// DRReplica is the DR replica's identifier (the inventory's database.drReplicaId).
	DRReplica string
}

// NewDRChain creates primary (MySQL 8.0) in region and its read replica drReplica in drRegion on s.
func (s *Server) NewDRChain(t testing.TB, region, primary, drRegion, drReplica string) DRChain {
	t.Helper()
	ctx := context.Background()
	c := DRChain{Region: region, DRRegion: drRegion, DRReplica: drReplica,
		PrimaryARN: "arn:aws:rds:" + region + ":" + Account + ":db:" + primary}
	_, err := rds.NewFromConfig(s.Config(region)).CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(primary),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String("mysql"), EngineVersion: aws.String("8.0.36"),
		AllocatedStorage: aws.Int32(100), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("password1234")})
	if err != nil {
		t.Fatalf("awstest: primary %s in %s: %v", primary, region, err)
	}
	_, err = rds.NewFromConfig(s.Config(drRegion)).CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier: aws.String(drReplica), SourceDBInstanceIdentifier: aws.String(c.PrimaryARN), SourceRegion: aws.String(region)})
	if err != nil {
		t.Fatalf("awstest: DR replica %s in %s: %v\n%s", drReplica, drRegion, err, s.Log())
	}
	return c
}
