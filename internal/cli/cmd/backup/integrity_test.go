package backup_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vaultDir is the directory behind the env's file:// store.
func (e *env) vaultDir() string {
	u, err := url.Parse(e.store)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Path
}

// truncateLargest cuts n bytes off the largest data object of backup id and returns its name.
func (e *env) truncateLargest(id string, n int64) string {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.vaultDir(), id, "manifest.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var m struct {
		Objects []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatal(err)
	}
	var name string
	var size int64
	for _, o := range m.Objects {
		if strings.HasPrefix(o.Name, "data/") && o.Size > size {
			name, size = o.Name, o.Size
		}
	}
	if err := os.Truncate(filepath.Join(e.vaultDir(), id, name), size-n); err != nil {
		e.t.Fatal(err)
	}
	return name
}

// listLine is the row of `backup list` for id.
func listLine(out, id string) string {
	for _, ln := range strings.Split(out, "\n") {
		if strings.HasPrefix(ln, id) {
			return ln
		}
	}
	return ""
}

// Issue 17 item 1, exactly as reported: two verified backups, the newest's largest object truncated by 5
// bytes. Before anything re-verifies it, prune already sees the size mismatch; verify fails naming the
// object and records the failure (list shows FAILED); prune --keep-last 1 keeps the intact older backup,
// which still restores. With every backup damaged, prune refuses with a non-zero exit, dry run or not.
func TestPruneNeverRemovesTheOnlyIntactBackup(t *testing.T) {
	e := newEnv(t)
	e.srv.Exec(t, "CREATE TABLE app.big (id INT PRIMARY KEY, pad VARCHAR(200))")
	var vals []string
	for i := 0; i < 2000; i++ {
		vals = append(vals, fmt.Sprintf("(%d, REPEAT(MD5(%d), 4))", i, i))
	}
	e.srv.Exec(t, "INSERT INTO app.big VALUES "+strings.Join(vals, ","))
	var ids []string
	for i := 0; i < 2; i++ {
		out, errOut, err := e.exec("run", "--dsn", e.srv.DSN(""), "--store", e.store, "--recipient", e.pub, "-d", "app", "-q", "-o", "json")
		if err != nil {
			t.Fatalf("run: %v %s", err, errOut)
		}
		var res struct {
			Manifest struct {
				ID string `json:"id"`
			} `json:"manifest"`
		}
		json.Unmarshal([]byte(out), &res)
		ids = append(ids, res.Manifest.ID)
		if _, errOut, err := e.exec("verify", res.Manifest.ID, "--store", e.store, "--identity", e.identity, "-q"); err != nil {
			t.Fatalf("verify %s: %v %s", res.Manifest.ID, err, errOut)
		}
		e.now = e.now.Add(time.Hour)
	}
	older, newest := ids[0], ids[1]
	obj := e.truncateLargest(newest, 5)

	// The stale success marker is not trusted: the listing's sizes already show the damage.
	out, _, err := e.exec("prune", "--store", e.store, "--keep-last", "1", "--dry-run")
	if err != nil || !strings.Contains(listLine(out, "keep   "+newest), "NOT INTACT: object "+obj) ||
		!strings.Contains(out, "keep   "+older+"  newest verified, last 1") || !strings.Contains(out, "would remove 0 of 2") {
		t.Fatalf("prune --dry-run with a stale marker: %v\n%s", err, out)
	}

	_, _, err = e.exec("verify", newest, "--store", e.store, "--identity", e.identity, "-q")
	if err == nil || !strings.Contains(err.Error(), obj) || !strings.Contains(err.Error(), newest) {
		t.Fatalf("verify of the truncated backup: %v", err)
	}
	out, _, err = e.exec("list", "--store", e.store)
	if err != nil || !strings.Contains(listLine(out, newest), "FAILED") || strings.Contains(listLine(out, older), "FAILED") {
		t.Fatalf("list after the failed verify:\n%s %v", out, err)
	}

	out, _, err = e.exec("prune", "--store", e.store, "--keep-last", "1")
	if err != nil || !strings.Contains(out, "removed 0 of 2") {
		t.Fatalf("prune --keep-last 1: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.vaultDir(), older, "manifest.json")); err != nil {
		t.Fatalf("the intact backup was removed: %v", err)
	}
	out, _, err = e.exec("restore", older, "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN(""), "--rename", "app=app_back", "-q")
	if err != nil || !strings.Contains(out, "app_back.big  2000") {
		t.Fatalf("restore of the kept backup: %v\n%s", err, out)
	}

	// A restore of the damaged one fails and says the target was left alone.
	_, _, err = e.exec("restore", newest, "--store", e.store, "--identity", e.identity, "--dsn", e.srv.DSN(""), "--rename", "app=app_bad", "-q")
	if err == nil || !strings.Contains(err.Error(), "app_bad left as it was") {
		t.Fatalf("restore of the damaged backup: %v", err)
	}

	// Both damaged: nothing intact would remain, so prune refuses (dry run too) and removes nothing.
	e.truncateLargest(older, 5)
	for _, dry := range []bool{true, false} {
		args := []string{"prune", "--store", e.store, "--keep-last", "1"}
		if dry {
			args = append(args, "--dry-run")
		}
		out, _, err = e.exec(args...)
		if err == nil || !strings.Contains(err.Error(), "no intact backup") || !strings.Contains(err.Error(), older) || !strings.Contains(err.Error(), newest) {
			t.Fatalf("prune (dry run %v) with no intact backup: %v\n%s", dry, err, out)
		}
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(e.vaultDir(), id, "manifest.json")); err != nil {
			t.Fatalf("backup %s removed by a refused prune: %v", id, err)
		}
	}
}
