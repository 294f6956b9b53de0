package provision

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Revision identifies what is being applied: the program's git commit and the hash of all stack configs.
type Revision struct {
	Commit     string `json:"commit"`
	Dirty      bool   `json:"dirty"`
	ConfigHash string `json:"configHash"`
}

// String is the revision as recorded in the plinth:commit tag.
func (r Revision) commitTag() string {
	c := r.Commit
	if c == "" {
		c = "unknown"
	}
	if r.Dirty {
		c += "-dirty"
	}
	return c
}

// Stack tags plinth records after a successful up.
const (
	TagCommit     = "plinth:commit"
	TagConfigHash = "plinth:config-hash"
	TagPlanSHA256 = "plinth:plan-sha256"
	TagCloud      = "plinth:cloud"
	TagOverride   = "plinth:promotion-override"
)

// GitRevision reads the commit of the repository at dir and whether its tree has uncommitted changes.
func GitRevision(ctx context.Context, dir string, configs map[string][]byte) Revision {
	rev := Revision{ConfigHash: ConfigHash(configs)}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return rev
	}
	rev.Commit = strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	rev.Dirty = err != nil || len(strings.TrimSpace(string(st))) > 0
	return rev
}

// CheckPromotion decides whether target may apply rev, given the tags of the stack it is promoted from
// (nil when that stack does not exist). It is pure: the caller reads the tags.
func CheckPromotion(target, from string, rev Revision, fromTags map[string]string) error {
	if from == "" {
		return nil
	}
	if rev.Commit == "" {
		return fmt.Errorf("%w: %s: the program's git commit is unknown (not a git checkout?)", ErrPromotionRefused, target)
	}
	if rev.Dirty {
		return fmt.Errorf("%w: %s: the working tree has uncommitted changes: commit them and apply %s first",
			ErrPromotionRefused, target, from)
	}
	if fromTags == nil {
		return fmt.Errorf("%w: %s: %s has never been applied: apply revision %.12s there first",
			ErrPromotionRefused, target, from, rev.Commit)
	}
	gotCommit, gotHash := fromTags[TagCommit], fromTags[TagConfigHash]
	if gotCommit != rev.commitTag() || gotHash != rev.ConfigHash {
		return fmt.Errorf("%w: %s: %s last applied commit %s config %.12s, this is commit %s config %.12s: apply it to %s first",
			ErrPromotionRefused, target, from, orNone(gotCommit), orNone(gotHash), rev.commitTag(), rev.ConfigHash, from)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
