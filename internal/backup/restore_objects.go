package backup

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/plinth-dev/plinth/internal/mysqlx"
)

// RestoredObject is one view, routine, trigger or event a restore created.
type RestoredObject struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"` // target schema.name
	Definer string `json:"definer,omitempty"`
	// DefinerMissing: the definer has no account on the target (the object fails when used).
	DefinerMissing bool `json:"definerMissing,omitempty"`
	// DefinerReplaced: --definer current made the restoring user its definer.
	DefinerReplaced bool `json:"definerReplaced,omitempty"`
}

var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// objectRestorer creates a backup's objects once its tables are in place: routines first (views and
// triggers may call functions), then views (retried while one depends on another not yet created),
// triggers and events.
type objectRestorer struct {
	o       RestoreOptions
	id      string
	l       *mysqlx.Loader
	created []mysqlx.Object // as created: Schema is the target
}

// createObjects creates objs in the targets; on error the objects it created are dropped again.
func createObjects(ctx context.Context, o RestoreOptions, id string, objs []mysqlx.Object) ([]RestoredObject, []string, error) {
	if len(objs) == 0 {
		return []RestoredObject{}, nil, nil
	}
	l, err := mysqlx.NewLoader(ctx, o.Target, o.SkipBinlog)
	if err != nil {
		return nil, nil, fmt.Errorf("restore %s: objects: %w", id, err)
	}
	defer l.Close()
	r := &objectRestorer{o: o, id: id, l: l}
	missing, warnings := r.missingDefiners(ctx, objs)
	var views, rest []mysqlx.Object
	for _, ob := range objs {
		if ob.Kind == mysqlx.KindView {
			views = append(views, ob)
		} else {
			rest = append(rest, ob)
		}
	}
	ordered := func(kinds ...string) []mysqlx.Object {
		var out []mysqlx.Object
		for _, k := range kinds {
			for _, ob := range rest {
				if ob.Kind == k {
					out = append(out, ob)
				}
			}
		}
		return out
	}
	fail := func(err error) ([]RestoredObject, []string, error) {
		r.undo()
		return nil, nil, err
	}
	for _, ob := range ordered(mysqlx.KindProcedure, mysqlx.KindFunction) {
		if err := r.create(ctx, ob); err != nil {
			return fail(err)
		}
	}
	// A view may select from a view created later in name order: retry while that makes progress.
	for len(views) > 0 {
		var again []mysqlx.Object
		var last error
		for _, v := range views {
			if err := r.create(ctx, v); err != nil {
				again, last = append(again, v), err
			}
		}
		if len(again) == len(views) {
			return fail(last)
		}
		views = again
	}
	for _, ob := range ordered(mysqlx.KindTrigger, mysqlx.KindEvent) {
		if err := r.create(ctx, ob); err != nil {
			return fail(err)
		}
	}
	out := make([]RestoredObject, 0, len(objs))
	for _, ob := range r.created {
		ro := RestoredObject{Kind: ob.Kind, Name: ob.Schema + "." + ob.Name, Definer: ob.Definer}
		if o.DefinerCurrent {
			ro.DefinerReplaced = true
		} else {
			ro.DefinerMissing = missing[ob.Definer]
		}
		out = append(out, ro)
	}
	return out, warnings, nil
}

// missingDefiners checks every definer against the target's accounts and says which do not exist.
func (r *objectRestorer) missingDefiners(ctx context.Context, objs []mysqlx.Object) (map[string]bool, []string) {
	missing := map[string]bool{}
	var warnings []string
	checked := map[string]bool{}
	for _, ob := range objs {
		i := strings.LastIndex(ob.Definer, "@")
		if i < 0 || checked[ob.Definer] { // a role, or seen
			continue
		}
		user, host := ob.Definer[:i], ob.Definer[i+1:]
		checked[ob.Definer] = true
		var n int
		if err := r.o.Target.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", user, host).Scan(&n); err != nil {
			warnings = append(warnings, fmt.Sprintf("could not check definer %s on the target: %v", ob.Definer, err))
			continue
		}
		if n == 0 {
			missing[ob.Definer] = true
		}
	}
	for _, ob := range objs {
		if !missing[ob.Definer] {
			continue
		}
		if r.o.DefinerCurrent {
			warnings = append(warnings, fmt.Sprintf("%s %s.%s: definer %s does not exist on the target: replaced by the restoring user (--definer current)", ob.Kind, r.o.target(ob.Schema), ob.Name, ob.Definer))
		} else {
			warnings = append(warnings, fmt.Sprintf("%s %s.%s: definer %s does not exist on the target: the object fails when used (create the account, or restore with --definer current)", ob.Kind, r.o.target(ob.Schema), ob.Name, ob.Definer))
		}
	}
	return missing, warnings
}

// create makes one object in its target database under the session settings it was defined with.
func (r *objectRestorer) create(ctx context.Context, ob mysqlx.Object) error {
	tdb := r.o.target(ob.Schema)
	stmt := ob.CreateSQL
	for from, to := range r.o.Rename {
		stmt = mysqlx.RenameSchema(stmt, from, to)
	}
	if r.o.DefinerCurrent {
		stmt = mysqlx.DefinerCurrent(stmt)
	}
	fail := func(step string, err error) error {
		return fmt.Errorf("restore %s: %s %s.%s: %s: %w", r.id, ob.Kind, tdb, ob.Name, step, err)
	}
	setup := []string{"USE " + mysqlx.QuoteIdent(tdb)}
	if charsetName.MatchString(ob.CharsetClient) && charsetName.MatchString(ob.CollationConnection) {
		setup = append(setup, "SET NAMES "+ob.CharsetClient+" COLLATE "+ob.CollationConnection)
	}
	for _, q := range setup {
		if err := r.l.Exec(ctx, q); err != nil {
			return fail(q, err)
		}
	}
	if err := r.l.ExecArgs(ctx, "SET SESSION sql_mode = ?", ob.SQLMode); err != nil {
		return fail("sql_mode", err)
	}
	tz := "+00:00"
	if ob.TimeZone != "" && ob.TimeZone != "SYSTEM" {
		tz = ob.TimeZone
	}
	if err := r.l.ExecArgs(ctx, "SET SESSION time_zone = ?", tz); err != nil {
		return fail("time_zone", err)
	}
	if r.o.Force {
		if err := r.l.Exec(ctx, dropObjectSQL(tdb, ob)); err != nil {
			return fail("replace", err)
		}
	}
	if err := r.l.Exec(ctx, stmt); err != nil {
		return fail("create", err)
	}
	ob.Schema = tdb
	r.created = append(r.created, ob)
	return nil
}

func dropObjectSQL(schema string, ob mysqlx.Object) string {
	return "DROP " + strings.ToUpper(ob.Kind) + " IF EXISTS " + mysqlx.QualifiedName(schema, ob.Name)
}

// undo drops the objects created so far, newest first.
func (r *objectRestorer) undo() {
	ctx := context.Background()
	for i := len(r.created) - 1; i >= 0; i-- {
		ob := r.created[i]
		if err := r.l.Exec(ctx, dropObjectSQL(ob.Schema, ob)); err != nil {
			r.o.Log.printf("restore %s: undo: %v", r.id, err)
		}
	}
	r.created = nil
}
