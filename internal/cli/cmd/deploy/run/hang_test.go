package run

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
)

// `plinth deploy --step-timeout 3s --keepalive 30s` against a host that hangs: the flags reach the
// executor and the SSH runner, the deploy fails within the step timeout and a few seconds, and says so.
// Without them the keepalives (15 s, three missed) would decide, after most of a minute.
func TestDeployCommandGivesUpAHungHost(t *testing.T) {
	hook := filepath.Join(t.TempDir(), "freeze.sh")
	if err := os.WriteFile(hook, []byte(deploytest.FreezeSSHDScript), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newE2E(t, 2, "    post: [[sh, "+hook+", \"{host}\", app-2]]\n")
	start := time.Now()
	out, err := e.deploy(t, "v1", "--step-timeout", "3s", "--keepalive", "30s")
	took := time.Since(start)
	t.Logf("plinth deploy failed after %s:\n%s", took.Round(time.Millisecond), out)
	if err == nil {
		t.Fatal("the deploy succeeded with a hung host")
	}
	addr := regexp.QuoteMeta(e.hosts[1].Addr)
	if !regexp.MustCompile(`app-2 \(` + addr + `\) stopped responding: no answer for [0-9.]+m?s during post`).MatchString(out.String()) {
		t.Fatalf("the output does not say app-2 stopped responding during post:\n%s", out)
	}
	if limit := 3*time.Second + 12*time.Second; took > limit {
		t.Fatalf("took %s (the deploy of v1 included): want under %s", took, limit)
	}
	if v := deploytest.Health(httpClient(), e.ports[0]); v != "v1" {
		t.Fatalf("app-1 serves %q", v)
	}
}
