package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/plinth-dev/plinth/internal/backup"
)

// HistoryPrefix is where drill reports are kept in the vault, one object per drill (the vault's writer
// may only create objects: appending is creating drills/<id>.json).
const HistoryPrefix = "drills/"

// History is the drill history in a vault.
type History struct{ Store backup.Store }

// Append records a drill's report.
func (h History) Append(ctx context.Context, r Report) error {
	if !ValidID(r.ID) {
		return fmt.Errorf("drill history: %q is not a drill id", r.ID)
	}
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("drill history %s: %w", r.ID, err)
	}
	key := HistoryPrefix + r.ID + ".json"
	w, err := h.Store.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("drill history %s in %s: %w", r.ID, h.Store, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(append(body, '\n'))); err != nil {
		w.Abort()
		return fmt.Errorf("drill history %s in %s: %w", r.ID, h.Store, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("drill history %s in %s: %w", r.ID, h.Store, err)
	}
	return nil
}

// List returns every recorded drill, newest first. A record that cannot be read is returned as a report
// holding only its id and the problem in Verdict.
func (h History) List(ctx context.Context) ([]Report, error) {
	objs, err := h.Store.List(ctx, HistoryPrefix)
	if err != nil {
		return nil, fmt.Errorf("drill history in %s: %w", h.Store, err)
	}
	out := []Report{}
	for _, o := range objs {
		id := strings.TrimSuffix(strings.TrimPrefix(o.Key, HistoryPrefix), ".json")
		if !ValidID(id) {
			continue
		}
		r, err := h.read(ctx, o.Key)
		if err != nil {
			r = Report{ID: id, Verdict: "unreadable: " + err.Error()}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func (h History) read(ctx context.Context, key string) (Report, error) {
	rc, err := h.Store.Open(ctx, key)
	if err != nil {
		return Report{}, err
	}
	defer rc.Close()
	var r Report
	if err := json.NewDecoder(io.LimitReader(rc, 4<<20)).Decode(&r); err != nil {
		return Report{}, fmt.Errorf("%s: %w", key, err)
	}
	return r, nil
}

func sortStrings(s []string) { sort.Strings(s) }
