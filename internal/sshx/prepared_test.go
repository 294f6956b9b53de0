package sshx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
)

// A prepared command does nothing until Run (then behaves as Run: output, stdin, exit status named by
// its script), and nothing at all when cancelled.
func TestPreparedCommandRunsOnlyOnItsGo(t *testing.T) {
	c := newCluster(t, 1)
	r := c.runner(t)
	h := c.inv.Tiers["app"].Hosts[0]
	ctx := context.Background()
	dir := t.TempDir()
	mark := func(name string) deploy.Command {
		return deploy.Command{Argv: []string{"sh", "-c", `read -r line; echo "$line" > "$1"; echo ran; echo warn >&2`, "plinth-mark", filepath.Join(dir, name)},
			Stdin: []byte("hello\n")}
	}
	p := r.Prepare(ctx, h, mark("run"))
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Fatal("the prepared command ran before its go")
	}
	res, err := p.Run(ctx, nil)
	if err != nil || string(res.Stdout) != "ran\n" || string(res.Stderr) != "warn\n" {
		t.Fatalf("run: %q %q %v", res.Stdout, res.Stderr, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "run")); err != nil || string(b) != "hello\n" {
		t.Fatalf("the command's stdin: %q %v", b, err)
	}

	r.Prepare(ctx, h, mark("cancelled")).Cancel()
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "cancelled")); err == nil {
		t.Fatal("a cancelled command ran")
	}

	// Any argv, not only scripts; a non-zero exit is a CommandError naming the command.
	_, err = r.Prepare(ctx, h, deploy.Command{Argv: []string{"false"}}).Run(ctx, nil)
	var ce *deploy.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 || ce.Argv[0] != "false" {
		t.Fatalf("false: %v", err)
	}
}
