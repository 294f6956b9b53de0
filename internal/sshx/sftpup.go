package sshx

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// sftpPacket is the size of one SFTP write: OpenSSH's sftp server takes messages up to 256 KiB, and 8x
// the 32 KiB default means 8x fewer requests, acknowledgements and write(2) calls in the host's sshd.
const sftpPacket = 255 << 10

// sftpSession is the SFTP subsystem on one host's connection: the host's sshd writes what it is sent
// itself (internal-sftp) or through its sftp-server, with no shell, pipe or receiver process between.
type sftpSession struct {
	sess   *ssh.Session
	client *sftp.Client
}

func (s *sftpSession) close() {
	_ = s.client.Close()
	_ = s.sess.Close()
}

// sftpFuture is an SFTP session being opened beside the receive script's start.
type sftpFuture struct {
	done chan struct{}
	s    *sftpSession
	err  error
}

// openSFTP starts opening an SFTP session on h in the background (bounded by ctx, as every request to a
// host is).
func (r *Runner) openSFTP(ctx context.Context, h inventory.Host) *sftpFuture {
	fu := &sftpFuture{done: make(chan struct{})}
	go func() {
		defer close(fu.done)
		c, err := r.client(ctx, h)
		if err != nil {
			fu.err = err
			return
		}
		fu.s, fu.err = await(ctx, c, h, func() (*sftpSession, error) { return r.newSFTP(c.client) }, func(s *sftpSession) { s.close() })
	}()
	return fu
}

func (r *Runner) newSFTP(client *ssh.Client) (*sftpSession, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*sftpSession, error) {
		_ = sess.Close()
		return nil, err
	}
	w, err := sess.StdinPipe()
	if err != nil {
		return fail(err)
	}
	rd, err := sess.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		return fail(fmt.Errorf("no sftp subsystem: %w", err))
	}
	inFlight := 64
	if r.cfg.UploadWindow > 0 {
		inFlight = int(max(r.cfg.UploadWindow/sftpPacket, 2))
	}
	cl, err := sftp.NewClientPipe(rd, w, sftp.MaxPacketUnchecked(sftpPacket), sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(inFlight))
	if err != nil {
		return fail(err)
	}
	return &sftpSession{sess: sess, client: cl}, nil
}

// wait is the session once it is open, or nil when it could not be (no sftp subsystem: the receive script
// takes the stream instead).
func (fu *sftpFuture) wait() *sftpSession {
	if fu == nil {
		return nil
	}
	<-fu.done
	return fu.s
}

// release closes the session once it is open, if it was.
func (fu *sftpFuture) release() {
	if fu == nil {
		return
	}
	go func() {
		if s := fu.wait(); s != nil {
			s.close()
		}
	}()
}

// partName is a fresh suffix for an upload's part file: <artifact>.part.<16 hex digits>.
func partName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// sendSFTP writes body to path on the host through s, creating it (never following or reusing an existing
// file: O_EXCL); the receive script hashes it, and renames it into place only if its sha256 is the one
// wanted (or removes it).
func sendSFTP(s *sftpSession, path string, body io.Reader) error {
	f, err := s.client.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("sftp create %s: %w", path, err)
	}
	if _, err := f.ReadFromWithConcurrency(body, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("sftp write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sftp close %s: %w", path, err)
	}
	return nil
}

// doneReader reads nothing until done is closed, then "sent\n" when ok says the upload went through,
// else EOF (the receive script then removes the part file and stores nothing).
type doneReader struct {
	done chan struct{}
	ok   *bool
	r    io.Reader
}

func (d *doneReader) Read(b []byte) (int, error) {
	<-d.done
	if !*d.ok {
		return 0, io.EOF
	}
	if d.r == nil {
		d.r = strings.NewReader("sent\n")
	}
	return d.r.Read(b)
}
