package target_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cloud"
)

var errNoOutputs = errors.New("no outputs")

func opener(outputs map[string]any, env map[string]string, recorded string) *target.Opener {
	return &target.Opener{Getenv: func(k string) string { return env[k] },
		StackOutputs: func(context.Context, string) (map[string]any, error) {
			if outputs == nil {
				return nil, errNoOutputs
			}
			return outputs, nil
		},
		StackCloud: func(context.Context, string) (string, error) { return recorded, nil }}
}

var prodInventory = map[string]any{"inventory": map[string]any{
	"stack":       "production",
	"database":    map[string]any{"writerEndpoint": "db.internal:3306"},
	"backupVault": map[string]any{"bucket": "plinth-prod-vault", "kmsKey": "projects/x"},
}}

func resolve(t *testing.T, o *target.Opener, req target.Request) (*target.Target, error) {
	t.Helper()
	req.ResolveOnly = true
	return o.Open(context.Background(), req)
}

func TestResolveFromStackInventory(t *testing.T) {
	o := opener(prodInventory, map[string]string{target.EnvDBUser: "backup", target.EnvDBPass: "pw"}, "")
	r, err := resolve(t, o, target.Request{Flags: target.Flags{Stack: "production"}, DB: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.StoreURL != "gs://plinth-prod-vault?prefix=production/" || r.DSN != "backup:pw@tcp(db.internal:3306)/" {
		t.Fatalf("resolved %+v", r)
	}
	// Flags win over the stack.
	r, err = resolve(t, o, target.Request{Flags: target.Flags{Stack: "production", Store: "file:///x", DSN: "u:p@tcp(127.0.0.1:1)/"}, DB: true})
	if err != nil || r.StoreURL != "file:///x" || !strings.Contains(r.DSN, "127.0.0.1:1") {
		t.Fatalf("resolved %+v %v", r, err)
	}
	// Without DB the DSN stays empty even when the environment names one.
	r, err = resolve(t, opener(prodInventory, map[string]string{target.EnvDSN: "a:b@tcp(h:1)/"}, ""), target.Request{Flags: target.Flags{Stack: "production"}})
	if err != nil || r.DSN != "" || r.StoreURL == "" {
		t.Fatalf("store only: %+v %v", r, err)
	}
}

func TestResolveMissingFieldsAreClearErrors(t *testing.T) {
	o := opener(map[string]any{"inventory": `{"stack":"staging","vpcId":"vpc-1"}`}, nil, "")
	_, err := resolve(t, o, target.Request{Flags: target.Flags{Stack: "staging"}})
	if err == nil || !strings.Contains(err.Error(), "backupVault") {
		t.Fatalf("err = %v", err)
	}
	_, err = resolve(t, opener(nil, nil, ""), target.Request{Flags: target.Flags{Stack: "staging"}})
	if !errors.Is(err, errNoOutputs) || !strings.Contains(err.Error(), "stack staging") {
		t.Fatalf("err = %v", err)
	}
	_, err = resolve(t, opener(map[string]any{"vpcId": "x"}, nil, ""), target.Request{Flags: target.Flags{Stack: "staging"}})
	if err == nil || !strings.Contains(err.Error(), "stack staging: stack has no inventory output") {
		t.Fatalf("no inventory: %v", err)
	}
	var ie *target.InputError
	_, err = resolve(t, opener(nil, nil, ""), target.Request{DB: true})
	if !errors.As(err, &ie) || err.Error() != "no database: pass --dsn, set PLINTH_BACKUP_DSN, or --stack" {
		t.Fatalf("no dsn: %v", err)
	}
	_, err = resolve(t, opener(nil, nil, ""), target.Request{})
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "no backup store") {
		t.Fatalf("no store: %v", err)
	}
	_, err = resolve(t, opener(prodInventory, nil, ""), target.Request{Flags: target.Flags{Stack: "production"}, DB: true})
	if err == nil || !strings.Contains(err.Error(), target.EnvDBUser) {
		t.Fatalf("no db user: %v", err)
	}
}

func TestResolveFromEnvironment(t *testing.T) {
	o := opener(nil, map[string]string{target.EnvDSN: "a:b@tcp(127.0.0.1:3306)/", target.EnvStore: "mem://"}, "")
	r, err := resolve(t, o, target.Request{DB: true})
	if err != nil || r.StoreURL != "mem://" || r.DSN == "" {
		t.Fatalf("%+v %v", r, err)
	}
}

// The stack's cloud decides: a local-cloud stack (recorded, or --cloud local) names what to pass instead of
// reaching for AWS; --cloud wins over the recorded cloud.
func TestResolveThroughTheStacksCloud(t *testing.T) {
	env := map[string]string{target.EnvDBUser: "backup"}
	for _, c := range []struct{ recorded, flag string }{{"local", ""}, {"aws", "local"}, {"", "local"}} {
		_, err := resolve(t, opener(prodInventory, env, c.recorded), target.Request{Flags: target.Flags{Stack: "production", Cloud: c.flag}})
		if !errors.Is(err, cloud.ErrNotLive) || !strings.Contains(err.Error(), "--store URL") {
			t.Errorf("recorded %q, --cloud %q: %v", c.recorded, c.flag, err)
		}
		_, err = resolve(t, opener(prodInventory, env, c.recorded), target.Request{Flags: target.Flags{Stack: "production", Cloud: c.flag, Store: "mem://"}, DB: true})
		if !errors.Is(err, cloud.ErrNotLive) || !strings.Contains(err.Error(), "--dsn") {
			t.Errorf("recorded %q, --cloud %q, db: %v", c.recorded, c.flag, err)
		}
	}
	r, err := resolve(t, opener(prodInventory, env, "local"), target.Request{Flags: target.Flags{Stack: "production", Cloud: "aws"}})
	if err != nil || r.StoreURL != "gs://plinth-prod-vault?prefix=production/" {
		t.Fatalf("--cloud aws over a local record: %+v %v", r, err)
	}
	_, err = resolve(t, opener(prodInventory, env, "moon"), target.Request{Flags: target.Flags{Stack: "production"}})
	if err == nil || !strings.Contains(err.Error(), `"moon"`) {
		t.Fatalf("unknown cloud: %v", err)
	}
}

func TestOpenOpensWhatWasAsked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := "file://" + dir + "?metadata=skip"
	o := opener(nil, nil, "")
	tg, err := o.Open(ctx, target.Request{Flags: target.Flags{Store: store}})
	if err != nil || tg.Store == nil || tg.DB != nil || tg.Scratch != nil {
		t.Fatalf("store only: %+v %v", tg, err)
	}
	tg.Close()
	// "latest" in an empty vault, a malformed ID, a missing identity file: clear errors, nothing left open.
	if _, err := o.Open(ctx, target.Request{Flags: target.Flags{Store: store}, ID: "latest"}); err == nil || !strings.Contains(err.Error(), "no complete backup") {
		t.Fatalf("latest: %v", err)
	}
	var ie *target.InputError
	if _, err := o.Open(ctx, target.Request{Flags: target.Flags{Store: store}, ID: "nonsense"}); !errors.As(err, &ie) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := o.Open(ctx, target.Request{Flags: target.Flags{Store: store}, IdentityFile: filepath.Join(dir, "none.key")}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("identity: %v", err)
	}
	tg, err = o.Open(ctx, target.Request{Flags: target.Flags{Store: store, DSN: "u:p@tcp(127.0.0.1:1)/"}, DB: true, ID: "20261123T004512Z"})
	if err != nil || tg.DB == nil || tg.ID != "20261123T004512Z" || tg.Address() != "u@tcp(127.0.0.1:1)/" {
		t.Fatalf("db: %+v %v", tg, err)
	}
	tg.Close()
	var nilTarget *target.Target
	nilTarget.Close()
}
