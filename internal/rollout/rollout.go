// Package rollout is the orchestration behind `plinth deploy`: connect to a stack (inventory from the
// stack's cloud or a file, the deploy config, an SSH runner through the bastion, the lock and audit state,
// each tier's load balancer drainer), then deploy tiers one session each (a tier whose hosts all run the
// release already is skipped) or roll a tier back. The deploy engine (internal/deploy) plans and executes;
// the commands (internal/cli/cmd/deploy) only turn flags into a Request and render the results.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// Sentinel errors (the exit-code table maps them: internal/cli/cmdutil/errors.go).
var (
	// ErrUsage is a request that cannot be served as asked: an unknown tier, an unreadable artifact, a
	// tier without an artifact (exit 2).
	ErrUsage = errors.New("bad deploy request")
	// ErrInvalid is an invalid inventory file or deploy config (exit 3).
	ErrInvalid = errors.New("invalid inventory or deploy config")
)

// kindError is an error of one of the sentinel kinds, printed as its own message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string        { return e.err.Error() }
func (e *kindError) Unwrap() error        { return e.err }
func (e *kindError) Is(target error) bool { return target == e.kind }

func usagef(format string, args ...any) error {
	return &kindError{kind: ErrUsage, err: fmt.Errorf(format, args...)}
}

func invalid(err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: ErrInvalid, err: err}
}

// Conn is a connected stack: everything a deploy verb works with. Close releases the connections.
type Conn struct {
	Inventory *inventory.Inventory
	Config    *deploy.Config
	Runner    deploy.Runner
	// State holds the deploy lock and the audit log (on the bastion, else on this machine).
	State deploy.State
	// StepTimeout bounds every step on a host (0: the executor's default); Parallel the hosts worked on at
	// once (0: every host).
	StepTimeout time.Duration
	Parallel    int
	// Drainer returns a tier's load balancer drainer (nil: none); nil Drainer: no tier has one.
	Drainer func(ctx context.Context, tier string) (deploy.Drainer, error)
	// Escrow is the stack's release escrow (nil: the stack has none); EscrowErr why it could not be
	// opened (a deploy fails with it: a release not kept for recovery is not deployed).
	Escrow    *Escrow
	EscrowErr error
	Close     func()
}

func (c *Conn) drainer(ctx context.Context, tier string) (deploy.Drainer, error) {
	if c.Drainer == nil {
		return nil, nil
	}
	return c.Drainer(ctx, tier)
}

// Connector connects to a stack (the Factory's DeployConnect).
type Connector func(ctx context.Context, req Request) (*Conn, error)

// Request is how to connect: the connection flags shared by the deploy verbs.
type Request struct {
	Stack string
	// Cloud is aws or local ("": the stack's recorded cloud).
	Cloud string
	// Inventory is a YAML inventory file ("": the stack's outputs resolved through its cloud).
	Inventory string
	// Config is the deploy config ("": deploy.yaml in the project directory, when present).
	Config     string
	Identity   []string
	KnownHosts []string
	NoAgent    bool
	Compress   string
	// WindowKiB paces uploads (0: unpaced).
	WindowKiB int
	Timeout   time.Duration
	// StepTimeout, KeepAlive and Parallel override the deploy config's (0: the config's).
	StepTimeout time.Duration
	KeepAlive   time.Duration
	Parallel    int
}
