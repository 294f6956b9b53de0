// Package local runs deploy commands on this machine: the lock and audit log when a stack has no
// bastion, on-premise single-machine setups, and fast tests of the executor.
package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Runner implements deploy.Runner with os/exec; the host is ignored except in error messages.
type Runner struct{}

// Run implements deploy.Runner.
func (Runner) Run(ctx context.Context, h inventory.Host, c deploy.Command) (deploy.Result, error) {
	if len(c.Argv) == 0 {
		return deploy.Result{}, fmt.Errorf("%s: empty command", h.Name)
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	// A cancelled command takes its children with it (its own process group), and Run does not wait
	// for a straggler that still holds the output pipes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	err := cmd.Run()
	res := deploy.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err != nil && ctx.Err() != nil {
		return res, fmt.Errorf("%s: %w", h.Name, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return res, &deploy.CommandError{Argv: c.Argv, ExitCode: ee.ExitCode(), Stderr: stderr.String()}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", h.Name, err)
	}
	return res, nil
}

// Upload implements deploy.Runner: a copy into the content-addressed store, verified.
func (Runner) Upload(ctx context.Context, h inventory.Host, u deploy.UploadSpec, progress func(int64)) (int64, error) {
	if sum, err := fileSHA256(u.Remote); err == nil && sum == u.SHA256 {
		return 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(u.Remote), 0o755); err != nil {
		return 0, fmt.Errorf("%s: upload: %w", h.Name, err)
	}
	src, err := os.Open(u.Local)
	if err != nil {
		return 0, fmt.Errorf("%s: upload: %w", h.Name, err)
	}
	defer src.Close()
	tmp := u.Remote + ".part." + strconv.Itoa(os.Getpid())
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return 0, fmt.Errorf("%s: upload: %w", h.Name, err)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, hash), &ctxReader{ctx: ctx, r: src, progress: progress})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(hash.Sum(nil)) != u.SHA256 {
		err = fmt.Errorf("sha256 mismatch: got %x, want %s", hash.Sum(nil), u.SHA256)
	}
	if err == nil {
		err = os.Rename(tmp, u.Remote)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return n, fmt.Errorf("%s: upload: %w", h.Name, err)
	}
	return n, nil
}

// DialContext implements deploy.Runner.
func (Runner) DialContext(ctx context.Context, _ inventory.Host, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type ctxReader struct {
	ctx      context.Context
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}
