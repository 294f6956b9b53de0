package sshx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

const (
	// scriptHave prints the sha256 of the stored artifact when there is one (verified on the host).
	scriptHave = `if [ -f "$1" ]; then sha256sum < "$1"; fi`
	// scriptReceive stores stdin at $1 only if its sha256 is $2; $3 is the wire encoding.
	scriptReceive = `set -eu
f=$1 want=$2 t="$1.part.$$"
mkdir -p "${f%/*}"
trap 'rm -f "$t"' EXIT
if [ "$3" = zstd ]; then zstd -dcq > "$t"; else cat > "$t"; fi
got=$(sha256sum < "$t"); got=${got%% *}
if [ "$got" != "$want" ]; then echo "sha256 mismatch on host: got $got, want $want" >&2; exit 1; fi
chmod 0755 "$t"
mv -f "$t" "$f"
trap - EXIT`
)

// Upload implements deploy.Runner: nothing is sent when the host already stores u.SHA256 (checked with
// sha256sum on the host); otherwise the file is streamed (zstd-compressed when configured), verified on
// the host and renamed into place. It returns the bytes written to the wire.
func (r *Runner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	var out bytes.Buffer
	if err := r.run(ctx, h, []string{"sh", "-c", scriptHave, "plinth-have", u.Remote}, nil, &out, nil); err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	if strings.HasPrefix(out.String(), u.SHA256+" ") {
		return 0, nil
	}
	f, err := os.Open(u.Local)
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	enc := "raw"
	if r.cfg.Compress == "zstd" {
		enc = "zstd"
	}
	pr, pw := io.Pipe()
	wire := &counter{}
	go func() {
		src := &progressReader{r: f, fn: progress}
		bw := bufio.NewWriterSize(io.MultiWriter(pw, wire), 256<<10)
		var err error
		if enc == "zstd" {
			var zw *zstd.Encoder
			zw, err = zstd.NewWriter(bw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err == nil {
				_, err = io.CopyBuffer(zw, src, make([]byte, 256<<10))
				if cerr := zw.Close(); err == nil {
					err = cerr
				}
			}
		} else {
			_, err = io.CopyBuffer(bw, src, make([]byte, 256<<10))
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	err = r.run(ctx, h, []string{"sh", "-c", scriptReceive, "plinth-receive", u.Remote, u.SHA256, enc}, pr, io.Discard, nil)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	r.wire.Add(wire.n)
	if err != nil {
		return wire.n, fmt.Errorf("upload: %w", err)
	}
	return wire.n, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.n)
	}
	return n, err
}
