package livecloud

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

func TestOptIn(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "true": true, " YES ": true, "": true, "0": false, "no": false, " OFF ": false, "false": false} {
		if got := Enabled(func(string) string { return v }); got != want {
			t.Errorf("%s=%q: %v, want %v", EnvOptIn, v, got, want)
		}
	}
	var errOut bytes.Buffer
	hooks, err := Hooks(func(k string) string { return map[string]string{"PLINTH_HOME": t.TempDir(), EnvOptIn: "0"}[k] }, &errOut)(t.TempDir())
	if err != nil || hooks != nil || errOut.Len() != 0 {
		t.Fatalf("turned off: %v %v %q", hooks, err, errOut.String())
	}
}

func TestUnsupportedMachineKeepsTheBookkeepingCloud(t *testing.T) {
	c := &Cloud{Dir: t.TempDir(), Check: func() error { return errors.New("live local cloud unavailable: network namespaces need root") }}
	var errOut bytes.Buffer
	hooks, err := hooksFor(c, &errOut, t.TempDir())
	if err != nil || hooks != nil {
		t.Fatalf("hooks %v, err %v", hooks, err)
	}
	if got := errOut.String(); got != "note: live local cloud unavailable: network namespaces need root\n" {
		t.Errorf("one line: %q", got)
	}
}

func TestDeleteWithoutServerHasNothingToRemove(t *testing.T) {
	dir := t.TempDir()
	h := &hook{cloud: &Cloud{Dir: dir, Executable: func() (string, error) { return "", errors.New("must not start") }}}
	// What `plinth local stop` kept for a restart.
	kept := filepath.Join(dir, "stacks", "staging")
	if err := os.MkdirAll(filepath.Join(kept, "hosts", "app-1", "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kept, "allocation.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	outs := map[string]any{"id": "vpc-1"}
	if _, err := h.Apply(context.Background(), localcloud.Change{Op: localcloud.OpDelete, Stack: "staging", Type: "aws:sns/topic:Topic"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(kept, "allocation.json")); err != nil {
		t.Fatalf("the delete of a topic dropped the allocation: %v", err)
	}
	got, err := h.Apply(context.Background(), localcloud.Change{Op: localcloud.OpDelete, Stack: "staging", Type: "aws:ec2/vpc:Vpc", Outputs: outs})
	if err != nil || got["id"] != "vpc-1" {
		t.Fatalf("delete: %v %v", got, err)
	}
	for _, p := range []string{"allocation.json", "hosts"} {
		if _, err := os.Stat(filepath.Join(kept, p)); !os.IsNotExist(err) {
			t.Errorf("%s kept after the VPC's delete: %v", p, err)
		}
	}
	_, err = h.Apply(context.Background(), localcloud.Change{Op: localcloud.OpCreate, Type: "aws:ec2/vpc:Vpc"})
	if err == nil || !strings.Contains(err.Error(), "must not start") {
		t.Fatalf("create starts the server: %v", err)
	}
}

func TestStatusAndStopWithoutServer(t *testing.T) {
	c := &Cloud{Dir: t.TempDir()}
	st, err := c.Status(context.Background())
	if err != nil || st.Running || st.Stacks == nil || len(st.Stacks) != 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if stopped, err := c.Stop(context.Background()); err != nil || stopped {
		t.Fatalf("stop: %v %v", stopped, err)
	}
}
