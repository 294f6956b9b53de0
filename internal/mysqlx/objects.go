package mysqlx

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// Kinds of schema objects other than tables.
const (
	KindView      = "view"
	KindTrigger   = "trigger"
	KindProcedure = "procedure"
	KindFunction  = "function"
	KindEvent     = "event"
)

// ScratchPrefix starts the name of every schema a restore loads into before moving tables into place;
// backups never include such schemas.
const ScratchPrefix = "plinth_restore_"

// Object is a view, trigger, stored procedure or function, or event: its definition as SHOW CREATE prints
// it and the session settings it was created under.
type Object struct {
	Kind                string `json:"kind"`
	Schema              string `json:"schema"`
	Name                string `json:"name"`
	Table               string `json:"table,omitempty"` // a trigger's table
	Definer             string `json:"definer,omitempty"`
	CreateSQL           string `json:"create"`
	SQLMode             string `json:"sqlMode,omitempty"`
	CharsetClient       string `json:"charsetClient,omitempty"`
	CollationConnection string `json:"collationConnection,omitempty"`
	TimeZone            string `json:"timeZone,omitempty"` // events
}

// String is "kind schema.name".
func (o Object) String() string { return o.Kind + " " + o.Schema + "." + o.Name }

// transactional engines dump consistently inside the snapshot.
var transactional = map[string]bool{"INNODB": true, "ROCKSDB": true, "TOKUDB": true}

// objectQueries list a schema's objects of each kind, in creation order: name, extra (a trigger's
// table), definer.
var objectQueries = []struct{ kind, q string }{
	{KindProcedure, "SELECT ROUTINE_NAME, '', DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'PROCEDURE' ORDER BY ROUTINE_NAME"},
	{KindFunction, "SELECT ROUTINE_NAME, '', DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION' ORDER BY ROUTINE_NAME"},
	{KindView, "SELECT TABLE_NAME, '', DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME"},
	{KindTrigger, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER"},
	{KindEvent, "SELECT EVENT_NAME, '', DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME"},
}

// readObjects reads every view, routine, trigger and event of database db.
func readObjects(ctx context.Context, c *sql.Conn, db string) ([]Object, error) {
	var out []Object
	for _, k := range objectQueries {
		rows, err := c.QueryContext(ctx, k.q, db)
		if err != nil {
			return nil, fmt.Errorf("snapshot: list %ss of %s: %w", k.kind, db, err)
		}
		var objs []Object
		for rows.Next() {
			o := Object{Kind: k.kind, Schema: db}
			if err := rows.Scan(&o.Name, &o.Table, &o.Definer); err != nil {
				rows.Close()
				return nil, fmt.Errorf("snapshot: list %ss of %s: %w", k.kind, db, err)
			}
			objs = append(objs, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("snapshot: list %ss of %s: %w", k.kind, db, err)
		}
		for i := range objs {
			if err := showCreate(ctx, c, &objs[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, objs...)
	}
	return out, nil
}

// showCreate fills o's definition from SHOW CREATE <kind>, whose columns differ by kind and server.
func showCreate(ctx context.Context, c *sql.Conn, o *Object) error {
	rows, err := c.QueryContext(ctx, "SHOW CREATE "+strings.ToUpper(o.Kind)+" "+QualifiedName(o.Schema, o.Name))
	if err != nil {
		return fmt.Errorf("snapshot: SHOW CREATE %s: %w", o, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("snapshot: SHOW CREATE %s: %w", o, err)
	}
	if !rows.Next() {
		return fmt.Errorf("snapshot: SHOW CREATE %s: no row (%v)", o, rows.Err())
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return fmt.Errorf("snapshot: SHOW CREATE %s: %w", o, err)
	}
	for i, col := range cols {
		v := vals[i].String
		switch strings.ToLower(col) {
		case "create view", "sql original statement", "create procedure", "create function", "create event":
			o.CreateSQL = v
		case "sql_mode":
			o.SQLMode = v
		case "character_set_client":
			o.CharsetClient = v
		case "collation_connection":
			o.CollationConnection = v
		case "time_zone":
			o.TimeZone = v
		}
	}
	if o.CreateSQL == "" {
		return fmt.Errorf("snapshot: SHOW CREATE %s: no definition returned (the backup user needs SHOW VIEW, SELECT on mysql.proc or to be the definer, TRIGGER, EVENT)", o)
	}
	return nil
}

// definerClause matches the DEFINER=... clause of a CREATE statement (user@host, quoted or not, or a role).
var definerClause = regexp.MustCompile("(?i)\\bDEFINER\\s*=\\s*(?:CURRENT_USER(?:\\(\\))?|(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[A-Za-z0-9_$.-]+)(?:\\s*@\\s*(?:`(?:[^`]|``)*`|'(?:[^']|'')*'|[A-Za-z0-9_$.%:-]+))?)")

// DefinerCurrent rewrites the DEFINER clause of a CREATE statement (the first one, before the body) to
// DEFINER=CURRENT_USER.
func DefinerCurrent(create string) string {
	loc := definerClause.FindStringIndex(create)
	if loc == nil {
		return create
	}
	return create[:loc[0]] + "DEFINER=CURRENT_USER" + create[loc[1]:]
}

// RenameSchema rewrites references `from`.x to `to`.x in a statement, outside string literals and
// comments: a view's definition names its tables with their database, which a restore under another
// name must follow.
func RenameSchema(stmt, from, to string) string {
	if from == to {
		return stmt
	}
	old, repl := QuoteIdent(from)+".", QuoteIdent(to)+"."
	var b strings.Builder
	for i := 0; i < len(stmt); {
		switch ch := stmt[i]; {
		case ch == '\'' || ch == '"':
			j := skipQuoted(stmt, i, ch)
			b.WriteString(stmt[i:j])
			i = j
		case ch == '`':
			if strings.HasPrefix(stmt[i:], old) {
				b.WriteString(repl)
				i += len(old)
				continue
			}
			j := skipQuoted(stmt, i, '`')
			b.WriteString(stmt[i:j])
			i = j
		default:
			b.WriteByte(ch)
			i++
		}
	}
	return b.String()
}

// skipQuoted returns the index just past the quoted token starting at i (doubled quotes and, for string
// literals, backslash escapes stay inside).
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}
