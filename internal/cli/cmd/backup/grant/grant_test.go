package grant

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func run(t *testing.T, f *cmdutil.Factory, args ...string) error {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f.IOStreams = ios
	cmd := NewCmdGrant(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	return cmd.ExecuteContext(context.Background())
}

func TestGrantNeedsAStack(t *testing.T) {
	var fe *cmdutil.FlagError
	if err := run(t, &cmdutil.Factory{}); !errors.As(err, &fe) || !strings.Contains(err.Error(), "--stack") {
		t.Errorf("no --stack: %v", err)
	}
	if err := run(t, &cmdutil.Factory{}, "--stack", "staging"); !errors.Is(err, cmdutil.ErrNoStackOutputs) {
		t.Errorf("no stack outputs: %v", err)
	}
}

// TestGrantNamesAMissingMasterSecret: an inventory without database.masterSecretArn is a clear error naming
// the stack and the field (nothing is reached).
func TestGrantNamesAMissingMasterSecret(t *testing.T) {
	f := &cmdutil.Factory{
		StackOutputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"inventory": map[string]any{"stack": "staging", "database": map[string]any{"writerEndpoint": "10.0.0.1:3306"}}}, nil
		},
		StackCloud: func(context.Context, string) (string, error) { return "local", nil },
	}
	err := run(t, f, "--stack", "staging")
	if err == nil || !strings.Contains(err.Error(), "stack staging: inventory has no database.masterSecretArn") {
		t.Errorf("err = %v", err)
	}
}
