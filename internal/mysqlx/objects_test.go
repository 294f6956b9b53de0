package mysqlx_test

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

func TestRenameSchema(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"select `shop`.`t`.`id` AS `id` from `shop`.`t`", "select `copy`.`t`.`id` AS `id` from `copy`.`t`"},
		{"select 'x `shop`.y' AS `shop`, `shopx`.`t`.a from `shop`.`t`", "select 'x `shop`.y' AS `shop`, `shopx`.`t`.a from `copy`.`t`"},
		{"select \"it's `shop`.\" from `sh``op`.`t`, `shop`.`u`", "select \"it's `shop`.\" from `sh``op`.`t`, `copy`.`u`"},
		{"select 'a\\'`shop`.b' from `shop`.t", "select 'a\\'`shop`.b' from `copy`.t"},
	} {
		if got := mysqlx.RenameSchema(c.in, "shop", "copy"); got != c.want {
			t.Errorf("RenameSchema(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestDefinerCurrent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"CREATE ALGORITHM=UNDEFINED DEFINER=`ghost`@`10.9.9.9` SQL SECURITY DEFINER VIEW `v` AS select 1",
			"CREATE ALGORITHM=UNDEFINED DEFINER=CURRENT_USER SQL SECURITY DEFINER VIEW `v` AS select 1"},
		{"CREATE DEFINER=`app`@`%` TRIGGER t AFTER INSERT ON x FOR EACH ROW SET @a = 'DEFINER=`b`@`c`'",
			"CREATE DEFINER=CURRENT_USER TRIGGER t AFTER INSERT ON x FOR EACH ROW SET @a = 'DEFINER=`b`@`c`'"},
		{"CREATE DEFINER='o''k'@'localhost' PROCEDURE p() SELECT 1", "CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1"},
		{"CREATE DEFINER=`admin_role` EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", "CREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"},
		{"CREATE FUNCTION f() RETURNS INT RETURN 1", "CREATE FUNCTION f() RETURNS INT RETURN 1"},
	} {
		if got := mysqlx.DefinerCurrent(c.in); got != c.want {
			t.Errorf("DefinerCurrent(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestSplitRange(t *testing.T) {
	if r := mysqlx.SplitRange(5, 5, 4); len(r) != 1 || r[0].From != nil || r[0].To != nil {
		t.Fatalf("single key: %+v", r)
	}
	r := mysqlx.SplitRange(-100, 300, 4)
	if len(r) != 4 || r[0].From != nil || r[3].To != nil {
		t.Fatalf("ranges: %+v", r)
	}
	for i := 1; i < len(r); i++ {
		if r[i].From == nil || r[i-1].To == nil || *r[i].From != *r[i-1].To {
			t.Fatalf("ranges do not abut at %d: %+v", i, r)
		}
	}
	if *r[0].To != 0 || *r[1].To != 100 || *r[2].To != 200 {
		t.Fatalf("cuts %d %d %d", *r[0].To, *r[1].To, *r[2].To)
	}
	// Extreme keys do not overflow.
	r = mysqlx.SplitRange(-9223372036854775808, 9223372036854775807, 3)
	if len(r) != 3 || *r[0].To >= *r[1].To {
		t.Fatalf("full int64 span: %+v", r)
	}
}
