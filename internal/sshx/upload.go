package sshx

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

const (
	// scriptHash defines h: the sha256 of stdin, by OpenSSL when the host has it (it uses the CPU's SHA
	// extensions: twice coreutils' speed here), else by sha256sum. Both print the hex digest first.
	scriptHash = `h() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r; else sha256sum; fi; }
`
	// scriptHave prints the sha256 of the stored artifact when there is one (verified on the host), then
	// the receiving tools the host has.
	scriptHave = scriptHash + `if [ -f "$1" ]; then h < "$1"; fi
for c in zstd perl; do if command -v $c >/dev/null 2>&1; then echo $c; fi; done`
	// scriptReceive stores stdin at $1 only if its sha256 is $2; $3 is the wire encoding (raw or zstd);
	// $4, when given, is the perl program that receives and acknowledges (receiverPerl).
	scriptReceive = scriptHash + `set -eu
f=$1 want=$2 enc=$3 t="$1.part.$$"
[ -d "${f%/*}" ] || mkdir -p "${f%/*}"
trap 'rm -f "$t"' EXIT
if [ $# -ge 4 ]; then
  perl -e "$4" "$t" "$enc"
else
  # Grow the stdin pipe from sshd to 1 MiB (F_SETPIPE_SZ) when perl is there: 16x fewer wake-ups per MiB.
  big() { if command -v perl >/dev/null 2>&1; then perl -e 'fcntl(STDIN, 1031, 1 << 20); exec @ARGV or exit 127' "$@"; else "$@"; fi; }
  if [ "$enc" = zstd ]; then big zstd -dcq > "$t"; else big cat > "$t"; fi
fi
got=$(h < "$t"); got=${got%% *}
if [ "$got" != "$want" ]; then echo "sha256 mismatch on host: got $got, want $want" >&2; exit 1; fi
chmod 0755 "$t"
mv -f "$t" "$f"
trap - EXIT`

	// receiverPerl copies stdin to ARGV[0] (through zstd -d when ARGV[1] is zstd) and prints the count of
	// bytes written so far every 256 KiB and at the end: the sender keeps at most its window beyond that
	// count in flight (pacedReader).
	receiverPerl = `use strict; use warnings;
fcntl(STDIN, 1031, 1 << 20);
my ($out, $enc) = @ARGV;
my $fh;
if ($enc eq "zstd") { open($fh, "|-", "zstd", "-dqf", "-o", $out) or die "zstd: $!\n"; }
else { open($fh, ">", $out) or die "$out: $!\n"; }
binmode STDIN; binmode $fh; $| = 1;
my ($total, $acked) = (0, 0);
while (1) {
  my $n = sysread(STDIN, my $buf, 1 << 18);
  die "read: $!\n" unless defined $n;
  last if $n == 0;
  my $off = 0;
  while ($off < $n) {
    my $w = syswrite($fh, $buf, $n - $off, $off);
    die "write $out: $!\n" unless defined $w;
    $off += $w;
  }
  $total += $n;
  if ($total - $acked >= 1 << 18) { print "$total\n"; $acked = $total; }
}
close($fh) or die(($enc eq "zstd" ? "zstd -d" : "close") . " failed: " . ($! || "exit " . ($? >> 8)) . "\n");
print "$total\n";
`
)

// Upload implements deploy.Runner: nothing is sent when the host already stores u.SHA256 (hashed on the
// host); otherwise the file is streamed (zstd-compressed when configured), verified on
// the host and renamed into place. It returns the bytes written to the wire.
func (r *Runner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	var out bytes.Buffer
	if err := r.run(ctx, h, []string{"sh", "-c", scriptHave, "plinth-have", u.Remote}, nil, &out, nil); err != nil {
		return 0, err
	}
	if strings.HasPrefix(out.String(), u.SHA256+" ") {
		return 0, nil
	}
	has := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		has[line] = true
	}
	f, err := os.Open(u.Local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	enc := "raw"
	switch r.cfg.Compress {
	case "zstd":
		enc = "zstd"
	case "", "auto":
		if has["zstd"] {
			enc = "zstd"
		}
	}
	var body io.Reader = &progressReader{r: f, fn: progress}
	if enc == "zstd" {
		// Compressed once per artifact, then sent to every host from memory.
		z, err := r.compressed(u)
		if err != nil {
			return 0, err
		}
		body = &progressReader{r: bytes.NewReader(z), fn: func(n int64) {
			if progress != nil {
				progress(n * u.Size / int64(max(len(z), 1)))
			}
		}}
	}
	wire := &counter{}
	body = io.TeeReader(bufio.NewReaderSize(body, 256<<10), wire)
	argv := []string{"sh", "-c", scriptReceive, "plinth-receive", u.Remote, u.SHA256, enc}
	var acks io.Writer = io.Discard
	if has["perl"] && r.cfg.UploadWindow > 0 {
		p := newPacedReader(body, r.cfg.UploadWindow)
		defer p.Close()
		body, acks = p, p
		argv = append(argv, receiverPerl)
	}
	err = r.run(ctx, h, argv, body, acks, nil)
	if err != nil {
		return wire.n, err
	}
	return wire.n, nil
}

// pacedReader lets through at most window bytes beyond what the receiver has acknowledged: its Write
// takes the receiver's output, lines of byte counts. Close releases a blocked Read (the command ended).
type pacedReader struct {
	r      io.Reader
	window int64

	mu     sync.Mutex
	cond   *sync.Cond
	sent   int64
	acked  int64
	closed bool
	line   []byte
}

func newPacedReader(r io.Reader, window int64) *pacedReader {
	p := &pacedReader{r: r, window: window}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pacedReader) Read(b []byte) (int, error) {
	p.mu.Lock()
	for !p.closed && p.sent-p.acked >= p.window {
		p.cond.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	room := p.window - (p.sent - p.acked)
	p.mu.Unlock()
	if int64(len(b)) > room {
		b = b[:room]
	}
	n, err := p.r.Read(b)
	p.mu.Lock()
	p.sent += int64(n)
	p.mu.Unlock()
	return n, err
}

// Write takes the receiver's acknowledgements ("<bytes written>\n"); anything else is ignored.
func (p *pacedReader) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line = append(p.line, b...)
	for {
		i := bytes.IndexByte(p.line, '\n')
		if i < 0 {
			break
		}
		if v, err := strconv.ParseInt(string(p.line[:i]), 10, 64); err == nil && v > p.acked {
			p.acked = v
			p.cond.Broadcast()
		}
		p.line = p.line[i+1:]
	}
	if len(p.line) > 64 { // not an acknowledgement: drop it
		p.line = p.line[:0]
	}
	return len(b), nil
}

func (p *pacedReader) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
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

// compressed returns the artifact zstd-compressed, computing it once per sha256 (concurrent callers wait).
func (r *Runner) compressed(u deploy.UploadSpec) ([]byte, error) {
	r.mu.Lock()
	if r.zcache == nil {
		r.zcache = map[string]*zentry{}
	}
	e, ok := r.zcache[u.SHA256]
	if !ok {
		e = &zentry{}
		r.zcache[u.SHA256] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		f, err := os.Open(u.Local)
		if err != nil {
			e.err = err
			return
		}
		defer f.Close()
		var buf bytes.Buffer
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			e.err = err
			return
		}
		if _, err := io.Copy(zw, f); err != nil {
			e.err = err
			return
		}
		if err := zw.Close(); err != nil {
			e.err = err
			return
		}
		e.data = buf.Bytes()
	})
	return e.data, e.err
}

type zentry struct {
	once sync.Once
	data []byte
	err  error
}
