package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNoGraphviz is returned when Graphviz's dot is not installed (Debian: apt-get install graphviz).
var ErrNoGraphviz = errors.New("graphviz's dot is not installed (apt-get install graphviz)")

// Dot renders DOT text through Graphviz's dot command: the one seam to Graphviz.
type Dot struct {
	// Path is the dot binary ("" looks it up on PATH).
	Path string
}

// Available reports whether dot can be run.
func (d Dot) Available() bool {
	_, err := d.path()
	return err == nil
}

func (d Dot) path() (string, error) {
	if d.Path != "" {
		return d.Path, nil
	}
	p, err := exec.LookPath("dot")
	if err != nil {
		return "", ErrNoGraphviz
	}
	return p, nil
}

// Render runs `dot -T<format>` over src and returns its output.
func (d Dot) Render(ctx context.Context, src []byte, format string) ([]byte, error) {
	p, err := d.path()
	if err != nil {
		return nil, err
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, "-T"+format)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(src), &out, &stderr
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n") // dot can print thousands of lines
		return nil, fmt.Errorf("dot -T%s: %w: %s", format, err, msg)
	}
	return out.Bytes(), nil
}
