package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	backupcmd "github.com/plinth-dev/plinth/internal/cli/cmd/backup"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

type env struct {
	t        *testing.T
	srv      *mysqltest.Server
	store    string
	identity string
	pub      string
	outputs  map[string]any
	now      time.Time
}

// exec runs `plinth backup args...` and returns stdout, stderr and the error.
func (e *env) exec(args ...string) (string, string, error) {
	return e.execCtx(context.Background(), args...)
}

// execCtx is exec under ctx (a long-running verb stops when ctx ends).
func (e *env) execCtx(ctx context.Context, args ...string) (string, string, error) {
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Now: func() time.Time { return e.now },
		Getenv: func(k string) string {
			if k == "PLINTH_DB_USER" {
				return mysqltest.User
			}
			if k == "PLINTH_DB_PASSWORD" {
				return mysqltest.Password
			}
			return ""
		},
		StackOutputs: func(context.Context, string) (map[string]any, error) { return e.outputs, nil }}
	root := &cobra.Command{Use: "plinth", Version: "v0.0.0-test", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(backupcmd.NewCmdBackup(f))
	root.SetArgs(append([]string{"backup"}, args...))
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func newEnv(t *testing.T) *env {
	srv := mysqltest.New(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	idFile := filepath.Join(dir, "restore.key")
	if err := os.WriteFile(idFile, []byte("# restore identity\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vault := filepath.Join(dir, "vault")
	if err := os.MkdirAll(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	srv.Exec(t, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20), KEY kv (v))",
		"INSERT INTO app.t VALUES (1,'a'),(2,'b\\tc'),(3,NULL)")
	return &env{t: t, srv: srv, store: "file://" + vault + "?metadata=skip", identity: idFile, pub: id.Recipient().String(),
		now: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC),
		outputs: map[string]any{"inventory": map[string]any{"stack": "staging",
			"database": map[string]any{"writerEndpoint": srv.Addr()}}}}
}

func TestBackupCommandsEndToEnd(t *testing.T) {
	e := newEnv(t)
	// run via the stack inventory (database) with an explicit store; the DSN password never printed.
	out, errOut, err := e.exec("run", "--stack", "staging", "--store", e.store, "--recipient", e.pub, "-d", "app", "-o", "json")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	if strings.Contains(out+errOut, mysqltest.Password) {
		t.Fatal("the database password was printed")
	}
	var res struct {
		Manifest struct {
			ID     string `json:"id"`
			Tables []struct {
				Rows int64 `json:"rows"`
			} `json:"tables"`
			ToolVersion string `json:"toolVersion"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("run json: %v\n%s", err, out)
	}
	id := res.Manifest.ID
	if id != "20261123T010000Z" || len(res.Manifest.Tables) != 1 || res.Manifest.Tables[0].Rows != 3 || res.Manifest.ToolVersion != "v0.0.0-test" {
		t.Fatalf("run result %+v", res)
	}

	out, _, err = e.exec("list", "--store", e.store)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "complete") {
		t.Fatalf("list: %v\n%s", err, out)
	}

	out, errOut, err = e.exec("verify", "latest", "--store", e.store, "--identity", e.identity,
		"--restore-into", e.srv.DSN(""), "--rename", "app=app_scratch")
	if err != nil || !strings.Contains(out, "verified") || !strings.Contains(out, "restored into scratch") ||
		!strings.Contains(out, "binlog: no binlog segments: point-in-time recovery not available\n") {
		t.Fatalf("verify: %v\n%s\n%s", err, out, errOut)
	}
	out, errOut, err = e.exec("verify", "latest", "--store", e.store, "--identity", e.identity, "-o", "json")
	var vj struct {
		OK     bool `json:"ok"`
		Binlog struct {
			Unavailable string `json:"unavailable"`
		} `json:"binlog"`
	}
	if err != nil || json.Unmarshal([]byte(out), &vj) != nil || !vj.OK || vj.Binlog.Unavailable != "no binlog segments: point-in-time recovery not available" {
		t.Fatalf("verify -o json: %v\n%s\n%s", err, out, errOut)
	}

	// restore refuses the non-empty source database, then works into a new name.
	_, _, err = e.exec("restore", id, "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN(""))
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("restore over non-empty target: %v", err)
	}
	out, _, err = e.exec("restore", id, "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN(""), "--rename", "app=app_copy")
	if err != nil || !strings.Contains(out, "app_copy.t") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	var v string
	if err := e.srv.Open(t, "").QueryRow("SELECT v FROM app_copy.t WHERE id=2").Scan(&v); err != nil || v != "b\tc" {
		t.Fatalf("restored value %q %v", v, err)
	}

	// a second, later backup, then prune keeping one: the verified first backup stays.
	e.now = e.now.Add(time.Hour)
	if _, errOut, err := e.exec("run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "-q"); err != nil {
		t.Fatalf("second run: %v %s", err, errOut)
	}
	e.now = e.now.Add(time.Hour)
	out, _, err = e.exec("prune", "--store", e.store, "--keep-last", "1", "--dry-run")
	if err != nil || !strings.Contains(out, "dry run: would remove 0 of 2") || !strings.Contains(out, "newest verified") {
		t.Fatalf("prune dry run: %v\n%s", err, out)
	}
}

func TestBackupCommandErrors(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.exec("run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "-q"); err != nil {
		t.Fatal(err)
	}
	// wrong identity
	other, _ := age.GenerateX25519Identity()
	wrong := filepath.Join(t.TempDir(), "wrong.key")
	os.WriteFile(wrong, []byte(other.String()+"\n"), 0o600)
	_, _, err := e.exec("verify", "latest", "--store", e.store, "--identity", wrong)
	if err == nil || !strings.Contains(err.Error(), "wrong key") || !strings.Contains(err.Error(), "20261123T010000Z") {
		t.Fatalf("verify with wrong key: %v", err)
	}
	// missing manifest
	_, _, err = e.exec("verify", "20261123T020000Z", "--store", e.store, "--identity", e.identity)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("verify missing backup: %v", err)
	}
	// unreachable store
	_, _, err = e.exec("list", "--store", "file:///nonexistent/vault")
	if err == nil {
		t.Fatal("list of a missing store succeeded")
	}
	// a local-cloud stack: one line naming what to pass instead (no AWS credential chain)
	for _, args := range [][]string{{"list", "--stack", "staging", "--cloud", "local"}, {"run", "--stack", "staging", "--cloud", "local", "--store", e.store, "--recipient", e.pub}} {
		if _, _, err := e.exec(args...); err == nil || !strings.Contains(err.Error(), "stack staging lives in the local cloud") {
			t.Errorf("%v: %v", args, err)
		}
	}
	// usage errors
	var fe *cmdutil.FlagError
	for _, args := range [][]string{
		{"run", "--dsn", e.srv.DSN(""), "--store", e.store},
		{"run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", "not-a-key"},
		{"verify", "latest", "--store", e.store},
		{"prune", "--store", e.store},
		{"restore", "nonsense-id", "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN("")},
		{"restore", "latest", "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN(""), "--definer", "bogus"},
		{"list", "--stack", "staging", "--cloud", "gcp"},
		{"list", "--store", e.store, "--cloud", "local"},
		{"list"},
	} {
		if _, _, err := e.exec(args...); !errors.As(err, &fe) {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}
