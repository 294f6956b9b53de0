package up_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmd/up"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/localcloud/localcloudtest"
)

const stateBucket = "plinth-state"

// TestSharedStateGCS: the real engine keeps its state in a gs:// bucket of the GCS emulator (fake-gcs-server on
// 127.0.0.1; the Pulumi CLI's gocloud gcsblob driver honours STORAGE_EMULATOR_HOST).
func TestSharedStateGCS(t *testing.T) {
	srv, host := gcsEmulator(t)
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	// The CLI resolves Google credentials before it opens the bucket; the emulator ignores them.
	t.Setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "emulator")
	sharedState(t, "gs://"+stateBucket+"/platform", func() string {
		objs, _, err := srv.ListObjectsWithOptions(stateBucket, fakestorage.ListOptions{})
		var keys []string
		for _, o := range objs {
			keys = append(keys, fmt.Sprintf("%s (%d bytes)", o.Name, o.Size))
		}
		return fmt.Sprint(keys, err)
	})
}

// gcsEmulator serves fake-gcs-server on 127.0.0.1 with its public host set to its own address: the Pulumi
// CLI's gcsblob reads objects through the XML API (GET /BUCKET/OBJECT), which fake-gcs-server routes only for
// requests addressed to its public host (default storage.googleapis.com; any other Host is taken for a
// bucket name, and every read is "object doesn't exist").
func gcsEmulator(t *testing.T) (*fakestorage.Server, string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := lis.Addr().String()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener: true, Scheme: "http", PublicHost: host, Writer: io.Discard,
	})
	if err != nil {
		t.Fatalf("start fake GCS: %v", err)
	}
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: stateBucket})
	hs := &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	t.Cleanup(func() {
		_ = hs.Close()
		srv.Stop()
	})
	return srv, host
}

// TestSharedStateS3: the same against an S3 emulator (gofakes3, in process on 127.0.0.1), reached through the
// s3blob driver's endpoint and use_path_style URL parameters.
func TestSharedStateS3(t *testing.T) {
	mem := s3mem.New()
	if err := mem.CreateBucket(stateBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "emulator")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "emulator")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	sharedState(t, "s3://"+stateBucket+"/platform?region=eu-west-1&use_path_style=true&endpoint="+url.QueryEscape(srv.URL), func() string {
		res, err := mem.ListBucket(stateBucket, nil, gofakes3.ListBucketPage{})
		var keys []string
		if res != nil {
			for _, o := range res.Contents {
				keys = append(keys, fmt.Sprintf("%s (%d bytes)", o.Key, o.Size))
			}
		}
		return fmt.Sprint(keys, err)
	})
}

// sharedState runs two operators (two PLINTH_HOMEs) on one backend: A's up, outputs read back by both, then
// A's second up held mid-update while B's up is refused with exit 6 naming A's lock, then B's up once A is done.
// bucket lists the backend's objects for failure messages.
func sharedState(t *testing.T, backend string, bucket func() string) {
	project := t.TempDir()
	if err := os.MkdirAll(filepath.Join(project, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "environments", "Pulumi.staging.yaml"),
		localcloudtest.StackConfig("eu-west-1", "10.20.0.0/16", 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var hold atomic.Bool
	started, release := make(chan struct{}), make(chan struct{})
	program := func(ctx *pulumi.Context) error {
		if !ctx.DryRun() && hold.CompareAndSwap(true, false) {
			close(started) // the update is running: the engine holds the backend's lock
			<-release
		}
		return localcloudtest.Program(ctx)
	}
	t.Setenv("PULUMI_HOME", t.TempDir())
	pulumiCLI := localcloudtest.PulumiCLI(t)

	operator := func() (*cmdutil.Factory, func(string) string) {
		env := map[string]string{
			"PLINTH_HOME": t.TempDir(), "PLINTH_PULUMI": pulumiCLI, "PLINTH_CLOUD": "local",
			"PULUMI_CONFIG_PASSPHRASE": "shared-state", "PLINTH_BACKEND": backend,
		}
		getenv := func(k string) string { return env[k] }
		ios, _, _, _ := iostreams.Test()
		return &cmdutil.Factory{IOStreams: ios, ProjectDir: func() (string, error) { return project, nil }, Getenv: getenv, Program: program}, getenv
	}
	upOn := func(f *cmdutil.Factory) (string, error) {
		cmd := up.NewCmdUp(f, nil)
		cmd.SetArgs([]string{"--stack", "staging", "--backend", backend})
		out := f.IOStreams.Out.(interface {
			String() string
			Reset()
		})
		out.Reset()
		cmd.SetOut(f.IOStreams.Out)
		cmd.SetErr(f.IOStreams.ErrOut)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	a, getenvA := operator()
	b, getenvB := operator()

	if out, err := upOn(a); err != nil || !strings.Contains(out, "up staging:") {
		t.Fatalf("up from A on %s: %v\n%s\nbucket: %s", backend, err, out, bucket())
	}
	for name, getenv := range map[string]func(string) string{"A": getenvA, "B": getenvB} {
		outs, err := engineflags.StackOutputs(getenv, b.ProjectDir)(context.Background(), "staging")
		if err != nil {
			t.Fatalf("outputs read back by %s from %s: %v", name, backend, err)
		}
		inv, _ := outs["inventory"].(map[string]any)
		if vpc, _ := inv["vpcId"].(string); !strings.HasPrefix(vpc, "vpc-") {
			t.Fatalf("inventory read back by %s: %v", name, outs)
		}
	}

	hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := upOn(a)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("A's second up ended before its update ran: %v", err)
	case <-time.After(5 * time.Minute):
		t.Fatal("A's second up never started its update")
	}
	out, err := upOn(b)
	close(release)
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitLocked {
		t.Fatalf("B's up while A holds %s: err %v, want exit %d\n%s", backend, err, cmdutil.ExitLocked, out)
	}
	holder := "created by "
	if u, err := user.Current(); err == nil {
		holder += u.Username + "@"
	}
	t.Logf("B refused on %s: %v", backend, err)
	if !strings.Contains(err.Error(), "locked") || !strings.Contains(err.Error(), holder) || !strings.Contains(err.Error(), "(pid ") {
		t.Errorf("the refusal does not name the holder (%q): %v", holder, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("A's up while B was refused: %v", err)
	}
	if out, err := upOn(b); err != nil {
		t.Fatalf("B's up after A released the lock: %v\n%s", err, out)
	}
}
