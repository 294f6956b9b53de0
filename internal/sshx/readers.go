package sshx

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

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
