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
