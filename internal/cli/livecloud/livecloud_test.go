package livecloud

import (
	"bytes"
	"context"
	"errors"
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
	h := &hook{cloud: &Cloud{Dir: t.TempDir(), Executable: func() (string, error) { return "", errors.New("must not start") }}}
	outs := map[string]any{"id": "vpc-1"}
	got, err := h.Apply(context.Background(), localcloud.Change{Op: localcloud.OpDelete, Type: "aws:ec2/vpc:Vpc", Outputs: outs})
	if err != nil || got["id"] != "vpc-1" {
		t.Fatalf("delete: %v %v", got, err)
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
