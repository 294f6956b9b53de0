// Package retention decides which backups a prune keeps (restic-style keep-last / daily / weekly / monthly).
// Pure: backups and a clock in, decisions out.
package retention

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Backup is what the policy needs to know about one backup.
type Backup struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Complete bool      `json:"complete"` // its manifest exists
	Verified bool      `json:"verified"` // the latest verify run on it succeeded
	// NotIntact says why the backup is known to be bad (objects missing or of the wrong size against its
	// manifest, an unreadable manifest, a failed verification); empty when nothing is known against it.
	// Such a backup never fills a slot of the policy nor counts as the newest verified one, and it is
	// kept (for inspection), never removed by prune: a failed verification may lie in the scratch server.
	NotIntact string `json:"notIntact,omitempty"`
	// LastWrite is the newest object's modification time (incomplete backups: is it still being written?).
	LastWrite time.Time `json:"lastWrite"`
}

// Policy says what to keep. Buckets are UTC calendar days, ISO weeks and months; in each bucket the newest
// backup is kept, for the newest N buckets that have one.
type Policy struct {
	KeepLast    int `json:"keepLast"`
	KeepDaily   int `json:"keepDaily"`
	KeepWeekly  int `json:"keepWeekly"`
	KeepMonthly int `json:"keepMonthly"`
	// IncompleteGrace: an incomplete backup (no manifest) written to within this long may still be running
	// and is kept; older ones are removed.
	IncompleteGrace time.Duration `json:"incompleteGrace"`
}

// Validate refuses a policy that keeps nothing.
func (p Policy) Validate() error {
	if p.KeepLast < 0 || p.KeepDaily < 0 || p.KeepWeekly < 0 || p.KeepMonthly < 0 || p.IncompleteGrace < 0 {
		return errors.New("retention: negative keep count or grace")
	}
	if p.KeepLast+p.KeepDaily+p.KeepWeekly+p.KeepMonthly == 0 {
		return errors.New("retention: the policy keeps nothing: set at least one of keep-last, keep-daily, keep-weekly, keep-monthly")
	}
	return nil
}

// ErrNoIntactBackup is returned (with the decisions, every backup kept) when the store holds complete
// backups but none that is intact: prune refuses to remove anything then.
var ErrNoIntactBackup = errors.New("no intact backup")

// Decision is the verdict on one backup.
type Decision struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Keep    bool      `json:"keep"`
	Reasons []string  `json:"reasons"`
}

// Apply decides every backup's fate, newest first. The newest verified backup is always kept; complete
// backups are kept by the policy's rules; incomplete ones older than the grace period are removed. Backups
// known not to be intact are kept but fill no slot (keep-last 1 keeps the newest intact backup). When
// complete backups exist and none is intact, every backup is kept and ErrNoIntactBackup, naming each bad
// backup and why, is returned with the decisions.
func Apply(backups []Backup, p Policy, now time.Time) ([]Decision, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	bs := append([]Backup(nil), backups...)
	sort.SliceStable(bs, func(i, j int) bool {
		if !bs[i].Time.Equal(bs[j].Time) {
			return bs[i].Time.After(bs[j].Time)
		}
		return bs[i].ID > bs[j].ID
	})
	out := make([]Decision, len(bs))
	type rule struct {
		name  string
		n     int
		key   func(time.Time) string
		seen  map[string]bool
		count int
	}
	rules := []*rule{
		{name: "daily", n: p.KeepDaily, key: func(t time.Time) string { return t.Format("2006-01-02") }},
		{name: "weekly", n: p.KeepWeekly, key: func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%04d-W%02d", y, w) }},
		{name: "monthly", n: p.KeepMonthly, key: func(t time.Time) string { return t.Format("2006-01") }},
	}
	for _, r := range rules {
		r.seen = map[string]bool{}
	}
	last, newestVerified := 0, false
	intact, complete := 0, 0
	var bad []string
	for i, b := range bs {
		d := Decision{ID: b.ID, Time: b.Time}
		if b.Complete {
			complete++
		}
		if b.Complete && b.NotIntact != "" {
			d.Keep = true
			d.Reasons = []string{"NOT INTACT: " + b.NotIntact, "kept for inspection, not counted by the policy"}
			bad = append(bad, b.ID+": "+b.NotIntact)
			out[i] = d
			continue
		}
		if !b.Complete {
			age := now.Sub(b.LastWrite)
			if age < p.IncompleteGrace {
				d.Keep = true
				d.Reasons = append(d.Reasons, fmt.Sprintf("incomplete, written %s ago: may still be running", age.Round(time.Second)))
			} else {
				d.Reasons = append(d.Reasons, "incomplete: no manifest")
			}
			out[i] = d
			continue
		}
		if b.Verified && !newestVerified {
			newestVerified = true
			d.Keep = true
			d.Reasons = append(d.Reasons, "newest verified")
		}
		if last < p.KeepLast {
			last++
			d.Keep = true
			d.Reasons = append(d.Reasons, fmt.Sprintf("last %d", last))
		}
		t := b.Time.UTC()
		for _, r := range rules {
			k := r.key(t)
			if r.count < r.n && !r.seen[k] {
				r.seen[k] = true
				r.count++
				d.Keep = true
				d.Reasons = append(d.Reasons, r.name+" "+k)
			}
		}
		if !d.Keep {
			d.Reasons = append(d.Reasons, "not selected by the policy")
		}
		intact++
		out[i] = d
	}
	if complete > 0 && intact == 0 {
		for i := range out {
			if !out[i].Keep {
				out[i].Keep = true
				out[i].Reasons = append(out[i].Reasons, "kept: prune refused")
			}
		}
		return out, fmt.Errorf("retention: %w: prune would leave none, refusing to remove anything: %s", ErrNoIntactBackup, strings.Join(bad, "; "))
	}
	return out, nil
}
