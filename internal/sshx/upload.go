package sshx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
	// scriptReceive is one session per upload (argv: $1 the artifact's path, $2 its sha256, $3 receiverPerl).
	// It first says what the host needs: "have" when $1 already holds that sha256 (hashed on the host, by
	// OpenSSL when there: it uses the CPU's SHA extensions, twice coreutils' speed), else "ready" and the
	// receiving tools it has. The sender answers with one line, "<raw|zstd> <paced|plain>", then the stream;
	// $1 is written only once the stream's sha256 is $2 (a session closed before that line stores nothing).
	// One session instead of a probe command and then a receive: a round trip, an sshd session and two
	// execs less per host before the first byte.
	scriptReceive = `set -eu
f=$1 want=$2 p=$3
if command -v openssl >/dev/null 2>&1; then set -- openssl dgst -sha256 -r; else set -- sha256sum; fi
if [ -f "$f" ]; then got=$("$@" < "$f" || true); if [ "${got%% *}" = "$want" ]; then echo have; exit 0; fi; fi
tools=
for c in zstd perl; do if command -v $c >/dev/null 2>&1; then tools="$tools $c"; fi; done
echo "ready$tools"
read -r enc mode || exit 0
t="$f.part.$$"
[ -d "${f%/*}" ] || mkdir -p "${f%/*}"
trap 'rm -f "$t"' EXIT
if [ "$mode" = paced ]; then
  perl -e "$p" "$t" "$enc" "$want" "$f" "$@"
  trap - EXIT
  exit 0
fi
# Grow the stdin pipe from sshd to 1 MiB (F_SETPIPE_SZ) when perl is there: 16x fewer wake-ups per MiB.
big() { if command -v perl >/dev/null 2>&1; then perl -e 'fcntl(STDIN, 1031, 1 << 20); exec @ARGV or exit 127' "$@"; else "$@"; fi; }
if [ "$enc" = zstd ]; then big zstd -dcq > "$t"; else big cat > "$t"; fi
got=$("$@" < "$t"); got=${got%% *}
if [ "$got" != "$want" ]; then echo "sha256 mismatch on host: got $got, want $want" >&2; exit 1; fi
chmod 0755 "$t"
mv -f "$t" "$f"
trap - EXIT`

	// receiverPerl (argv: part, encoding, sha256, destination, the hash command...) copies stdin to the part
	// file (through zstd -d when the encoding is zstd) and prints the count of bytes written so far every
	// 256 KiB and at the end: the sender keeps at most its window beyond that count in flight
	// (pacedReader). A raw stream is hashed as it arrives (the hash command reads a pipe beside the file:
	// no second pass over 50 MiB after the last byte); a decompressed one is hashed from the file. The part
	// file becomes the destination (0755) only when its sha256 is the one wanted.
	receiverPerl = `use strict; use warnings;
fcntl(STDIN, 1031, 1 << 20);
my ($out, $enc, $want, $dest, @hash) = @ARGV;
$| = 1;
$SIG{PIPE} = "IGNORE";
sub writeall {
  my ($w, $buf, $n, $what) = @_;
  my $off = 0;
  while ($off < $n) {
    my $k = syswrite($w, $buf, $n - $off, $off);
    die "$what: $!\n" unless defined $k;
    $off += $k;
  }
}
sub hasher {
  my ($in) = @_;
  pipe(my $dr, my $dw) or die "pipe: $!\n";
  my ($hr, $hw);
  if (!defined $in) { pipe($hr, $hw) or die "pipe: $!\n"; fcntl($hw, 1031, 1 << 20); }
  my $pid = fork();
  die "fork: $!\n" unless defined $pid;
  if ($pid == 0) {
    close($dr);
    if (defined $in) { open(STDIN, "<", $in) or exit 126; } else { close($hw); open(STDIN, "<&", $hr) or exit 126; }
    open(STDOUT, ">&", $dw) or exit 126;
    exec(@hash) or exit 127;
  }
  close($dw);
  close($hr) if defined $hr;
  binmode $hw if defined $hw;
  return ($pid, $dr, $hw);
}
sub digest {
  my ($pid, $dr) = @_;
  my $line = <$dr>;
  waitpid($pid, 0);
  die "$hash[0] exited " . ($? >> 8) . "\n" if $? != 0;
  my ($d) = split(/ /, defined $line ? $line : "");
  return defined $d ? $d : "";
}
my $fh;
my ($hpid, $hdr, $hw);
if ($enc eq "zstd") { open($fh, "|-", "zstd", "-dqf", "-o", $out) or die "zstd: $!\n"; }
else { open($fh, ">", $out) or die "$out: $!\n"; ($hpid, $hdr, $hw) = hasher(undef); }
binmode STDIN; binmode $fh;
my ($total, $acked) = (0, 0);
# A raw stream on a pipe moves without passing through perl: tee(2) duplicates what sshd wrote into the
# hasher's pipe and splice(2) moves it into the file (syscall numbers of x86_64 and aarch64; anywhere else,
# or if stdin is no pipe, the read loop below).
require Config;
my %nr = ("x86_64" => [275, 276], "aarch64" => [76, 77]);
my ($arch) = split(/-/, do { no warnings "once"; $Config::Config{archname} });
my $sys = defined $hw ? $nr{$arch} : undef;
my $eof = 0;
while ($sys && !$eof) {
  my $n = syscall($sys->[1], fileno(STDIN), fileno($hw), 1 << 20, 0);
  if ($n < 0) { die "tee: $!\n" if $total > 0; last; }
  if ($n == 0) { $eof = 1; last; }
  my $left = $n;
  while ($left > 0) {
    my $k = syscall($sys->[0], fileno(STDIN), 0, fileno($fh), 0, $left, 0);
    if ($k <= 0 && $total == 0 && $left == $n) { # no splice into this file system: copy these bytes
      while ($left > 0) {
        my $r = sysread(STDIN, my $buf, $left);
        die "read: $!\n" unless $r;
        writeall($fh, $buf, $r, "write $out");
        $left -= $r;
      }
      $sys = undef;
      last;
    }
    die "splice to $out: $!\n" if $k <= 0;
    $left -= $k;
  }
  $total += $n;
  if ($total - $acked >= 1 << 18) { print "$total\n"; $acked = $total; }
}
while (!$eof) {
  my $n = sysread(STDIN, my $buf, 1 << 18);
  die "read: $!\n" unless defined $n;
  last if $n == 0;
  writeall($fh, $buf, $n, "write $out");
  writeall($hw, $buf, $n, "write to $hash[0]") if defined $hw;
  $total += $n;
  if ($total - $acked >= 1 << 18) { print "$total\n"; $acked = $total; }
}
close($fh) or die(($enc eq "zstd" ? "zstd -d" : "close") . " failed: " . ($! || "exit " . ($? >> 8)) . "\n");
if (defined $hw) { close($hw) or die "$hash[0]: $!\n"; }
else { ($hpid, $hdr) = hasher($out); }
my $got = digest($hpid, $hdr);
die "sha256 mismatch on host: got $got, want $want\n" if $got ne $want;
chmod(0755, $out) or die "chmod $out: $!\n";
rename($out, $dest) or die "rename $out: $!\n";
print "$total\n";
`
)

// Upload implements deploy.Runner: nothing is sent when the host already stores u.SHA256 (hashed on the
// host); otherwise the file is streamed (zstd-compressed when configured), verified on the host and
// renamed into place, all in one session (scriptReceive). It returns the bytes written to the wire.
func (r *Runner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	f, err := os.Open(u.Local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rx := &receive{r: r, u: u, f: f, progress: progress, stdin: newLateReader()}
	defer rx.close()
	if r.cfg.Compress == "none" {
		go r.inMemory(u) // read while the host answers (once for every host)
	}
	argv := []string{"sh", "-c", scriptReceive, "plinth-receive", u.Remote, u.SHA256, receiverPerl}
	err = r.run(ctx, h, argv, rx.stdin, &handshake{answer: rx.answer}, nil)
	if rx.err != nil {
		return rx.wire.n, rx.err
	}
	if err != nil {
		return rx.wire.n, err
	}
	if !rx.answered {
		return 0, fmt.Errorf("ssh %s: upload: the host said neither have nor ready", h.Address)
	}
	return rx.wire.n, nil
}

// receive is one upload's sender side: answer decides, from the host's first line, what to send.
type receive struct {
	r        *Runner
	u        deploy.UploadSpec
	f        *os.File
	progress func(int64)
	stdin    *lateReader
	wire     counter
	paced    *pacedReader
	answered bool
	err      error // a local failure while preparing the stream
}

// answer takes the host's "have" or "ready [tools]" line and returns where the rest of its output goes.
func (rx *receive) answer(line string) io.Writer {
	rx.answered = true
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "ready" {
		rx.stdin.set(nil) // "have": nothing to send
		return io.Discard
	}
	has := map[string]bool{}
	for _, t := range fields[1:] {
		has[t] = true
	}
	enc := "raw"
	switch rx.r.cfg.Compress {
	case "zstd":
		enc = "zstd"
	case "", "auto":
		if has["zstd"] {
			enc = "zstd"
		}
	}
	var body io.Reader
	if enc == "zstd" {
		// Compressed once per artifact, then sent to every host from memory.
		z, err := rx.r.compressed(rx.u)
		if err != nil {
			rx.err = err
			rx.stdin.set(nil) // the host stores nothing without the sender's line
			return io.Discard
		}
		size, progress := rx.u.Size, rx.progress
		body = &progressReader{r: bytes.NewReader(z), fn: func(n int64) {
			if progress != nil {
				progress(n * size / int64(max(len(z), 1)))
			}
		}}
	} else if data := rx.r.inMemory(rx.u); data != nil {
		body = &progressReader{r: bytes.NewReader(data), fn: rx.progress}
	} else {
		body = bufio.NewReaderSize(&progressReader{r: rx.f, fn: rx.progress}, 256<<10)
	}
	body = io.TeeReader(body, &rx.wire)
	mode := "plain"
	var acks io.Writer = io.Discard
	if has["perl"] && rx.r.cfg.UploadWindow > 0 {
		rx.paced = newPacedReader(body, rx.r.cfg.UploadWindow)
		body, acks, mode = rx.paced, rx.paced, "paced"
	}
	rx.stdin.set(io.MultiReader(strings.NewReader(enc+" "+mode+"\n"), body))
	return acks
}

func (rx *receive) close() {
	rx.stdin.set(nil)
	if rx.paced != nil {
		_ = rx.paced.Close()
	}
}

// handshake passes the host's output to answer line by line until answer accepts a line ("have" or
// "ready ..."; anything a login shell prints before is skipped), then everything after it to the writer
// answer returned.
type handshake struct {
	answer func(line string) io.Writer
	line   []byte
	rest   io.Writer
}

func (hs *handshake) Write(b []byte) (int, error) {
	n := len(b)
	for hs.rest == nil {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(hs.line) < 64<<10 {
				hs.line = append(hs.line, b...)
			}
			return n, nil
		}
		line := string(append(hs.line, b[:i]...))
		hs.line, b = hs.line[:0], b[i+1:]
		if line == "have" || line == "ready" || strings.HasPrefix(line, "ready ") {
			hs.rest = hs.answer(line)
		}
	}
	if len(b) > 0 {
		_, _ = hs.rest.Write(b)
	}
	return n, nil
}

// lateReader is a stdin whose content is decided after the command started: Read waits for set (nil: EOF).
type lateReader struct {
	once  sync.Once
	ready chan struct{}
	r     io.Reader
}

func newLateReader() *lateReader { return &lateReader{ready: make(chan struct{})} }

func (l *lateReader) set(r io.Reader) {
	l.once.Do(func() {
		l.r = r
		close(l.ready)
	})
}

func (l *lateReader) Read(b []byte) (int, error) {
	<-l.ready
	if l.r == nil {
		return 0, io.EOF
	}
	return l.r.Read(b)
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
