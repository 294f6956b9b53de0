package run

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
)

// TestDeployCommandPullStaging: `plinth deploy --staging pull` with deploy.yaml's store pointing at an S3
// emulator; the real sshd hosts fetch the artifact with curl; it enters the store once.
func TestDeployCommandPullStaging(t *testing.T) {
	em := deploytest.StartStore(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	e := newE2E(t, 3, fmt.Sprintf("store: {bucket: %s, prefix: plinth/, region: eu-west-1, endpoint: %q, pathStyle: true}\n",
		deploytest.StoreBucket, em.URL))
	out, err := e.deploy(t, "v1", "--staging", "pull", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, p := range e.ports {
		if v := deploytest.Health(httpClient(), p); v != "v1" {
			t.Fatalf("port %d serves %q\n%s", p, v, out)
		}
	}
	if !strings.Contains(out.String(), `"step":"fetch"`) || !strings.Contains(out.String(), `"step":"publish"`) {
		t.Errorf("no publish/fetch events:\n%s", out)
	}
	in, served := em.In.Load(), em.Out.Load()
	if in == 0 || served < 3*in-3*in/100 || served > 3*in {
		t.Errorf("store received %d bytes and served %d: want one copy in, 3 out", in, served)
	}
	t.Logf("into the store %d bytes, out of it %d (3 hosts)", in, served)
}

func TestDeployCommandStagingFlag(t *testing.T) {
	e := newE2E(t, 1, "")
	var fe *cmdutil.FlagError
	if _, err := e.deploy(t, "v1", "--staging", "rsync"); !errors.As(err, &fe) {
		t.Errorf("--staging rsync: %v, want a flag error", err)
	}
	_, err := e.deploy(t, "v1", "--staging", "pull")
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitConfigInvalid || !strings.Contains(err.Error(), "no artifact store") {
		t.Errorf("--staging pull without a store: %v, want exit 3 naming the missing store", err)
	}
}
