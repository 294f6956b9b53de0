package mysqlx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/mysqlx"
	"github.com/plinth-dev/plinth/internal/mysqlx/mysqltest"
)

// TestGrantAppUser: on a real MariaDB the application user gets DML on its schema only, TLS required; the
// schema and the health table exist; a second grant changes the password and keeps the privileges; bad input
// is refused naming the user.
func TestGrantAppUser(t *testing.T) {
	srv := mysqltest.New(t)
	db, err := mysqlx.Open(srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for range 2 {
		if err := mysqlx.GrantAppUser(ctx, db, "plinth_app", "0123456789abcdef0123", "plinth_app"); err != nil {
			t.Fatal(err)
		}
	}
	grants := srv.Grants(t, "'plinth_app'@'%'")
	all := strings.Join(grants, "\n")
	if len(grants) != 2 || !strings.Contains(grants[0], "GRANT USAGE ON *.*") || !strings.Contains(all, "REQUIRE SSL") ||
		!strings.Contains(grants[1], "GRANT SELECT, INSERT, UPDATE, DELETE ON `plinth_app`.*") {
		t.Fatalf("grants:\n%s", all)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM plinth_app."+mysqlx.AppHealthTable).Scan(&n); err != nil {
		t.Fatalf("health table: %v", err)
	}
	for _, bad := range []struct{ user, pw, schema, want string }{
		{"x'y", "0123456789abcdef0123", "plinth_app", `app user "x'y"`},
		{"plinth_app", "short", "plinth_app", `app user "plinth_app"`},
		{"plinth_app", "0123456789abcdef0123", "App;drop", `schema "App;drop"`},
	} {
		if err := mysqlx.GrantAppUser(ctx, db, bad.user, bad.pw, bad.schema); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
