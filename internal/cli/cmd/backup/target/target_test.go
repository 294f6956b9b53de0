package target_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/backup/target"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
)

func factory(outputs map[string]any, env map[string]string) *cmdutil.Factory {
	ios, _, _, _ := iostreams.Test()
	return &cmdutil.Factory{IOStreams: ios, Getenv: func(k string) string { return env[k] },
		StackOutputs: func(context.Context, string) (map[string]any, error) {
			if outputs == nil {
				return nil, cmdutil.ErrNoStackOutputs
			}
			return outputs, nil
		}}
}

func TestResolveFromStackInventory(t *testing.T) {
	inv := map[string]any{"inventory": map[string]any{
		"stack":       "production",
		"database":    map[string]any{"writerEndpoint": "db.internal:3306"},
		"backupVault": map[string]any{"bucket": "plinth-prod-vault", "kmsKey": "projects/x"},
	}}
	f := factory(inv, map[string]string{target.EnvDBUser: "backup", target.EnvDBPass: "pw"})
	r, err := target.Resolve(context.Background(), f, target.Flags{Stack: "production"}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.StoreURL != "gs://plinth-prod-vault?prefix=production/" || r.DSN != "backup:pw@tcp(db.internal:3306)/" {
		t.Fatalf("resolved %+v", r)
	}
	// Flags win over the stack.
	r, err = target.Resolve(context.Background(), f, target.Flags{Stack: "production", Store: "file:///x", DSN: "u:p@tcp(127.0.0.1:1)/"}, true, true)
	if err != nil || r.StoreURL != "file:///x" || !strings.Contains(r.DSN, "127.0.0.1:1") {
		t.Fatalf("resolved %+v %v", r, err)
	}
}

func TestResolveMissingFieldsAreClearErrors(t *testing.T) {
	inv := map[string]any{"inventory": `{"stack":"staging","vpcId":"vpc-1"}`}
	f := factory(inv, nil)
	_, err := target.Resolve(context.Background(), f, target.Flags{Stack: "staging"}, false, true)
	if err == nil || !strings.Contains(err.Error(), "backupVault") {
		t.Fatalf("err = %v", err)
	}
	_, err = target.Resolve(context.Background(), factory(nil, nil), target.Flags{Stack: "staging"}, false, true)
	if !errors.Is(err, cmdutil.ErrNoStackOutputs) {
		t.Fatalf("err = %v", err)
	}
	_, err = target.Resolve(context.Background(), factory(nil, nil), target.Flags{}, true, false)
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("no dsn: %v", err)
	}
}

func TestResolveFromEnvironment(t *testing.T) {
	f := factory(nil, map[string]string{target.EnvDSN: "a:b@tcp(127.0.0.1:3306)/", target.EnvStore: "mem://"})
	r, err := target.Resolve(context.Background(), f, target.Flags{}, true, true)
	if err != nil || r.StoreURL != "mem://" || r.DSN == "" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestParseRename(t *testing.T) {
	m, err := target.ParseRename([]string{"app=app_scratch"})
	if err != nil || m["app"] != "app_scratch" {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := target.ParseRename([]string{"app"}); err == nil {
		t.Fatal("accepted app")
	}
}
