package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err       error
		cancelled bool
		want      int
		printed   bool
	}{
		{nil, false, cmdutil.ExitOK, false},
		{errors.New("boom"), false, cmdutil.ExitFailure, true},
		{cmdutil.FlagErrorf("bad flag"), false, cmdutil.ExitUsage, true},
		{fmt.Errorf("wrapped: %w", cmdutil.WithExitCode(cmdutil.ExitPolicyViolation, errors.New("p"))), false, cmdutil.ExitPolicyViolation, true},
		{cmdutil.SilentExit(cmdutil.ExitDrift), false, cmdutil.ExitDrift, false},
		{context.Canceled, true, cmdutil.ExitCancelled, true},
	}
	for _, tt := range tests {
		io, _, _, errOut := iostreams.Test()
		got := ExitCode(tt.err, &cmdutil.Factory{IOStreams: io}, tt.cancelled)
		if got != tt.want || (errOut.Len() > 0) != tt.printed {
			t.Errorf("ExitCode(%v) = %d (printed %q), want %d", tt.err, got, errOut, tt.want)
		}
	}
}

func TestRootRunsValidate(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, ProjectDir: func() (string, error) { return "../..", nil }}
	root := NewCmdRoot(f)
	root.SetArgs([]string{"validate", "--stack", "production"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "production: valid") {
		t.Errorf("err %v, out %q", err, out)
	}
	root = NewCmdRoot(f)
	root.SetArgs([]string{"preview", "--bogus"})
	if code := ExitCode(root.Execute(), f, false); code != cmdutil.ExitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
}
