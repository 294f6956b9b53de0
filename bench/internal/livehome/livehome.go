// Package livehome is a benchmark's plinth home on the live local cloud: plinth run in it (the home,
// Pulumi's home, the local cloud in its environment), its destroy, the platform's memory by pid tree from
// the live server's pid file, and the wait and the verified HTTPS client the live benches share.
package livehome

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/bench/internal/platmem"
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
