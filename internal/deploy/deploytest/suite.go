package deploytest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// RunnerSuite is the conformance suite every deploy.Runner passes. newRunner returns a runner and a host
// whose Root is a fresh directory on it.
func RunnerSuite(t *testing.T, newRunner func(t *testing.T) (deploy.Runner, inventory.Host)) {
	ctx := context.Background()

	t.Run("run captures stdout and stdin", func(t *testing.T) {
		r, h := newRunner(t)
		res, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sh", "-c", `cat; printf ' %s' "$1"`, "x", "it's $HOME"}, Stdin: []byte("in")})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(res.Stdout); got != "in it's $HOME" {
			t.Fatalf("stdout %q", got)
		}
	})

	t.Run("non-zero exit is a CommandError with stderr", func(t *testing.T) {
		r, h := newRunner(t)
		res, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sh", "-c", "echo out; echo boom >&2; exit 7"}})
		var ce *deploy.CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 7 || !strings.Contains(ce.Stderr, "boom") {
			t.Fatalf("err %v (%T)", err, err)
		}
		if string(res.Stdout) != "out\n" {
			t.Fatalf("stdout %q", res.Stdout)
		}
	})

	t.Run("upload is content-addressed and verified", func(t *testing.T) {
		r, h := newRunner(t)
		local := filepath.Join(t.TempDir(), "artifact")
		data := bytes.Repeat([]byte("plinth artifact\n"), 64<<10) // 1 MiB
		if err := os.WriteFile(local, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rel := Release(t, local, "v1")
		spec := deploy.UploadSpec{Local: local, Remote: deploy.ArtifactPath(h.Root, rel.SHA256), SHA256: rel.SHA256, Size: rel.Size}
		var progressed int64
		n, err := r.Upload(ctx, h, spec, func(s int64) { progressed = s })
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || progressed != rel.Size {
			t.Fatalf("first upload sent %d bytes, progress %d", n, progressed)
		}
		res, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sha256sum", spec.Remote}})
		if err != nil || !strings.HasPrefix(string(res.Stdout), rel.SHA256) {
			t.Fatalf("stored artifact: %q %v", res.Stdout, err)
		}
		n, err = r.Upload(ctx, h, spec, nil)
		if err != nil || n != 0 {
			t.Fatalf("second upload sent %d bytes, err %v; want 0", n, err)
		}
		// A stored copy whose content no longer has its sha256 is not trusted: it is sent again.
		if _, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sh", "-c", `echo tampered > "$0"`, spec.Remote}}); err != nil {
			t.Fatal(err)
		}
		if n, err = r.Upload(ctx, h, spec, nil); err != nil || n == 0 {
			t.Fatalf("upload over a tampered copy sent %d bytes, err %v; want it sent again", n, err)
		}
		res, err = r.Run(ctx, h, deploy.Command{Argv: []string{"sha256sum", spec.Remote}})
		if err != nil || !strings.HasPrefix(string(res.Stdout), rel.SHA256) {
			t.Fatalf("artifact after re-sending over a tampered copy: %q %v", res.Stdout, err)
		}
		bad := spec
		bad.SHA256 = strings.Repeat("0", 64)
		bad.Remote = deploy.ArtifactPath(h.Root, bad.SHA256)
		if _, err := r.Upload(ctx, h, bad, nil); err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
			t.Fatalf("upload with a wrong sha256: %v", err)
		}
		if _, err := r.Run(ctx, h, deploy.Command{Argv: []string{"test", "-e", bad.Remote}}); err == nil {
			t.Fatal("a mismatched upload was stored")
		}
		// Nor is any part file left behind, by the mismatch or by the uploads before it.
		left := `for f in "${0%/*}"/*.part.*; do if [ -e "$f" ]; then echo "$f"; exit 1; fi; done`
		if res, err := r.Run(ctx, h, deploy.Command{Argv: []string{"sh", "-c", left, bad.Remote}}); err != nil {
			t.Fatalf("part file left behind: %s %v", res.Stdout, err)
		}
	})

	t.Run("dial reaches a port from the host", func(t *testing.T) {
		r, h := newRunner(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				_, _ = c.Write([]byte("hello"))
				_ = c.Close()
			}
		}()
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err := r.DialContext(dctx, h, "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		if string(b) != "hello" {
			t.Fatalf("read %q", b)
		}
	})

	t.Run("cancelled context stops a command", func(t *testing.T) {
		r, h := newRunner(t)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Run(cctx, h, deploy.Command{Argv: []string{"sleep", "5"}})
		if err == nil || time.Since(start) > 3*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
}
