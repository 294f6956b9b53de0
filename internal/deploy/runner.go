package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Command is one program run on a host: an argv list (never a shell string built by concatenation) and
// optional stdin.
type Command struct {
	Argv  []string
	Stdin []byte
}

// Result is what a command printed.
type Result struct {
	Stdout []byte
	Stderr []byte
}

// Runner executes commands on hosts. sshx implements it over SSH; deploy/local on this machine.
type Runner interface {
	// Run runs c on h. A non-zero exit is a *CommandError (the Result still holds its output); any other
	// error is a transport failure.
	Run(ctx context.Context, h inventory.Host, c Command) (Result, error)
	// Upload makes u.Remote on h hold the local file with sha256 u.SHA256, verified on the host. It is
	// content-addressed: when the host already holds that sha256 it sends nothing. It returns the bytes sent.
	Upload(ctx context.Context, h inventory.Host, u UploadSpec, progress func(sent int64)) (int64, error)
	// DialContext opens a TCP connection from h to addr (health checks of services bound to loopback).
	DialContext(ctx context.Context, h inventory.Host, network, addr string) (net.Conn, error)
}

// Connector is implemented by runners that can open their connection to a host ahead of its first
// step. Sessions use it to connect to a plan's hosts while they take the lock: the handshakes overlap it.
type Connector interface {
	Connect(ctx context.Context, h inventory.Host) error
}

// Preparer is implemented by runners that can start a command ahead of the moment it is to run: its
// session, shell and program are up, waiting for the go. The executor prepares the steps that are on the
// critical path of a rollout (each host's stage while its upload runs, the next batch's switch while the
// current batch is switched and checked), so that running one costs a line to the host rather than
// a session, a login shell and a program's start. A prepared command does nothing until Run.
type Preparer interface {
	Prepare(ctx context.Context, h inventory.Host, c Command) Prepared
}

// Prepared is a command started ahead by a Preparer. Exactly one of Run and Cancel is called, once.
type Prepared interface {
	// Run lets the command go with stdin (nil: the prepared command's Stdin) and waits for it, at most
	// until ctx ends; like Runner.Run. An error wrapping ErrNotStarted means the command never started
	// (it did nothing).
	Run(ctx context.Context, stdin []byte) (Result, error)
	// Cancel ends it without running it.
	Cancel()
}

// ErrNotStarted is wrapped by the error of a prepared command that could not be started on its host.
var ErrNotStarted = errors.New("prepared command did not start")

// CommandError is a command that ran and exited non-zero.
type CommandError struct {
	Argv     []string
	ExitCode int
	Stderr   string
}

func (e *CommandError) Error() string {
	name := ""
	if len(e.Argv) > 0 {
		name = e.Argv[0]
		// Scripts run as sh -c SCRIPT NAME ...: name them by NAME.
		if len(e.Argv) > 3 && e.Argv[0] == "sh" && e.Argv[1] == "-c" {
			name = e.Argv[3]
		}
	}
	msg := strings.TrimSpace(e.Stderr)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		return fmt.Sprintf("%s: exit status %d", name, e.ExitCode)
	}
	return fmt.Sprintf("%s: exit status %d: %s", name, e.ExitCode, msg)
}

// UploadSpec is a content-addressed upload of a local artifact.
type UploadSpec struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Drainer takes a host out of its load balancer and puts it back. lb implements it for ALB target groups
// and HAProxy; a nil Drainer means the tier has no load balancer.
type Drainer interface {
	Drain(ctx context.Context, tier string, h inventory.Host) error
	Enable(ctx context.Context, tier string, h inventory.Host) error
}
