package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

// TestMakeRunDeploysTheSampleService is the main job as a new user meets it (root, the real binary, the
// real engine, the live local cloud): `make run` brings staging up and deploys examples/webservice, whose
// published HTTPS address answers with its version (certificate verified with the CA file); a second `make
// run` changes nothing (up: every resource unchanged; deploy: unchanged, 0 bytes); `plinth deploy --stack staging --tier
// app` with no inventory, key or known_hosts rolls v2 out with no failed request through the published 443.
func TestMakeRunDeploysTheSampleService(t *testing.T) {
	if err := live.Check(); err != nil {
		t.Fatalf("live cloud unavailable (these tests need root and network namespaces, which make test and CI have): %v", err)
	}
	localcloudtest.LockLiveStack(t, "staging") // TestUpStatusDestroyLive (internal/cli/livecloud) brings staging up too
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := append(os.Environ(), "PLINTH_HOME="+home, "PULUMI_HOME="+t.TempDir(), "PLINTH_PULUMI="+localcloudtest.PulumiCLI(t),
		"PULUMI_CONFIG_PASSPHRASE=make-run", "PLINTH_CLOUD=", "PLINTH_PROJECT_DIR=", "MAKEFLAGS=")
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out))
		}
		return string(out)
	}
	bin := filepath.Join(root, "bin", "plinth")
	t.Cleanup(func() {
		for _, args := range [][]string{{"destroy", "--stack", "staging", "--cloud", "local", "--yes"}, {"local", "stop"}} {
			cmd := exec.Command(bin, args...)
			cmd.Dir, cmd.Env = root, append(env, "PLINTH_LOCAL_LIVE=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("cleanup: plinth %s: %v\n%s", strings.Join(args, " "), err, tail(out))
			}
		}
	})
	version := strings.TrimSpace(run("git", "describe", "--tags", "--always", "--dirty"))

	began := time.Now()
	first := run("make", "run")
	firstTook := time.Since(began)
	if !strings.Contains(first, "deploy staging/app "+version+": succeeded") {
		t.Fatalf("make run did not deploy %s:\n%s", version, tail([]byte(first)))
	}
	var st struct {
		Stacks []struct {
			URL    string `json:"url"`
			CAFile string `json:"caFile"`
		} `json:"stacks"`
	}
	if err := json.Unmarshal([]byte(run(bin, "local", "status", "--stack", "staging", "-o", "json")), &st); err != nil || len(st.Stacks) != 1 {
		t.Fatalf("status: %v %+v", err, st)
	}
	url, ca := st.Stacks[0].URL, st.Stacks[0].CAFile
	if !strings.Contains(first, url) || !strings.Contains(first, ca) || !strings.Contains(first, "plinth deploy --stack staging") ||
		!strings.Contains(first, "plinth backup") || !strings.Contains(first, "plinth local status") {
		t.Errorf("make run does not print the URL, the CA file and the next commands:\n%s", tail([]byte(first)))
	}
	// Its closing lines show /health through the published address: the data tier's checks ok (staging has no
	// replica: the read is the primary's).
	if !strings.Contains(first, `"database":"ok","databaseRead":"primary"`) || !strings.Contains(first, `"cache":"ok"`) {
		t.Errorf("make run's /health does not report the database and cache ok:\n%s", tail([]byte(first)))
	}
	client := httpsClient(t, ca)
	if v, err := healthVersion(client, url); err != nil || v != version {
		t.Fatalf("GET %s/health: version %q, %v; want %s", url, v, err, version)
	}

	began = time.Now()
	second := run("make", "run")
	secondTook := time.Since(began)
	if !regexp.MustCompile(`up staging: [0-9]+ unchanged \(`).MatchString(second) || !strings.Contains(second, "deploy staging/app "+version+": unchanged") ||
		!strings.Contains(second, "0 host(s) switched, 0 B sent") {
		t.Errorf("the second make run changed something:\n%s", tail([]byte(second)))
	}
	t.Logf("make run: first %s, second %s", firstTook.Round(100*time.Millisecond), secondTook.Round(100*time.Millisecond))
	// Both deploys keep the release in the live cloud's escrow (an S3 emulator beside plinth local serve): the
	// same content-addressed object.
	kept := regexp.MustCompile(`kept in escrow: (s3://[a-z0-9.-]+/artifacts/sha256/[0-9a-f]{64})`)
	if m1, m2 := kept.FindStringSubmatch(first), kept.FindStringSubmatch(second); m1 == nil || m2 == nil || m1[1] != m2[1] {
		t.Errorf("make run's deploys name no escrow object (or two): %q %q", m1, m2)
	}

	// A rolling deploy as the next command says, through the published bastion, with a prober on 443.
	v2 := filepath.Join(t.TempDir(), "webservice")
	run("go", "build", "-trimpath", "-ldflags", "-X main.version=v2", "-o", v2, "./examples/webservice")
	var requests, failed atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			requests.Add(1)
			if v, err := healthVersion(client, url); err != nil || (v != version && v != "v2") {
				if failed.Add(1) <= 3 {
					t.Logf("probe: %q %v", v, err)
				}
			}
		}
	}()
	out := run(bin, "deploy", "--stack", "staging", "--tier", "app", "--artifact", v2, "--version", "v2", "-m", "test")
	close(stop)
	<-done
	if !strings.Contains(out, "deploy staging/app v2: succeeded") {
		t.Fatalf("deploy v2:\n%s", out)
	}
	if failed.Load() != 0 || requests.Load() < 20 {
		t.Errorf("%d of %d requests through the published 443 failed during the rolling deploy:\n%s", failed.Load(), requests.Load(), out)
	}
	t.Logf("rolling deploy of v2: %d requests through the published 443, %d failed", requests.Load(), failed.Load())
	if v, err := healthVersion(client, url); err != nil || v != "v2" {
		t.Fatalf("after the deploy: version %q, %v", v, err)
	}
}

func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// healthVersion GETs url/health and returns the version it reports.
func healthVersion(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url + "/health")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var h struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return "", fmt.Errorf("health: %w: %s", err, body)
	}
	return h.Version, nil
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
