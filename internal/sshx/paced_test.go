package sshx

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func TestPacedReaderKeepsAtMostTheWindowUnacknowledged(t *testing.T) {
	p := newPacedReader(bytes.NewReader(make([]byte, 100)), 10)
	buf := make([]byte, 64)
	n, err := p.Read(buf)
	if err != nil || n != 10 {
		t.Fatalf("first read: %d %v, want the window (10)", n, err)
	}
	got := make(chan int, 1)
	go func() {
		n, _ := p.Read(buf)
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("read %d bytes beyond the window before any acknowledgement", n)
	case <-time.After(50 * time.Millisecond):
	}
	// An acknowledgement split across writes, and noise, are handled.
	_, _ = p.Write([]byte("not a count\n"))
	_, _ = p.Write([]byte("6"))
	select {
	case n := <-got:
		t.Fatalf("read %d bytes on half an acknowledgement", n)
	case <-time.After(20 * time.Millisecond):
	}
	_, _ = p.Write([]byte("\n"))
	select {
	case n := <-got:
		if n != 6 {
			t.Fatalf("read %d after 6 acknowledged, want 6", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("acknowledgement did not release the reader")
	}
	// Stale (smaller) counts do not shrink what was acknowledged.
	_, _ = p.Write([]byte("3\n"))
	go func() {
		n, _ := p.Read(buf)
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("read %d on a stale acknowledgement", n)
	case <-time.After(20 * time.Millisecond):
	}
	// Close releases a blocked reader (the command ended without acknowledging).
	_ = p.Close()
	select {
	case n := <-got:
		if n != 0 {
			t.Fatalf("read %d after close", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("close did not release the reader")
	}
	if _, err := p.Read(buf); err != io.ErrClosedPipe {
		t.Fatalf("read after close: %v", err)
	}
}
