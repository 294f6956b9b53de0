package sshx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/inventory"
)

// gateLines make a script wait for its go: one line, "run", on stdin. Anything else, or stdin closed, and
// it exits 0 having done nothing.
const gateLines = `IFS= read -r plinth_go || exit 0
[ "$plinth_go" = run ] || exit 0
`

// gated is argv waiting for its go before it does anything: a script run as sh -c SCRIPT NAME ARGS gets
// the gate lines first (no extra exec once it goes); any other argv is exec'ed by a gate script.
func gated(argv []string) []string {
	if len(argv) >= 3 && argv[0] == "sh" && argv[1] == "-c" {
		out := append([]string{}, argv...)
		out[2] = gateLines + out[2]
		return out
	}
	return append([]string{"sh", "-c", gateLines + `exec "$@"`, "plinth-gate"}, argv...)
}

// Prepare implements deploy.Preparer: it opens a session on h and starts c's argv behind a gate, in the
// background; Run sends the go (then c's stdin) and waits for the command as Run would.
func (r *Runner) Prepare(ctx context.Context, h inventory.Host, c deploy.Command) deploy.Prepared {
	p := &prepared{stdin: newLateReader(), in: c.Stdin, ready: make(chan struct{})}
	go func() {
		defer close(p.ready)
		p.st, p.err = r.start(ctx, h, gated(c.Argv), c.Argv, p.stdin, &p.stdout, &p.stderr)
	}()
	return p
}

type prepared struct {
	stdin          *lateReader
	in             []byte
	ready          chan struct{} // start returned
	st             *running
	err            error
	stdout, stderr bytes.Buffer
}

func (p *prepared) Run(ctx context.Context, stdin []byte) (deploy.Result, error) {
	select {
	case <-p.ready:
	case <-ctx.Done():
		p.Cancel()
		return deploy.Result{}, ctx.Err()
	}
	if p.err != nil {
		return deploy.Result{}, fmt.Errorf("%w: %w", deploy.ErrNotStarted, p.err)
	}
	if stdin == nil {
		stdin = p.in
	}
	p.stdin.set(io.MultiReader(strings.NewReader("run\n"), bytes.NewReader(stdin)))
	err := p.st.wait(ctx)
	return deploy.Result{Stdout: p.stdout.Bytes(), Stderr: p.stderr.Bytes()}, err
}

// cancelWait bounds how long a cancelled command is waited for (it exits as soon as its stdin closes).
const cancelWait = 10 * time.Second

func (p *prepared) Cancel() {
	go func() {
		<-p.ready
		p.stdin.set(nil)
		if p.st != nil {
			ctx, cancel := context.WithTimeout(context.Background(), cancelWait)
			defer cancel()
			_ = p.st.wait(ctx)
		}
	}()
}

var _ deploy.Preparer = (*Runner)(nil)
