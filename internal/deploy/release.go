package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Release is one version of a tier's binary.
type Release struct {
	Version string
	// Artifact is the local path of the binary; SHA256 and Size describe it.
	Artifact string
	SHA256   string
	Size     int64
	// CreatedAt orders releases on the hosts (written into the completion marker).
	CreatedAt time.Time
}

var (
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)
	shaRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidateVersion accepts versions safe as a path element and a shell word.
func ValidateVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: want 1-128 of [A-Za-z0-9._+-], starting with a letter or digit", v)
	}
	return nil
}

// Validate checks a release before planning.
func (r Release) Validate() error {
	var errs []error
	if err := ValidateVersion(r.Version); err != nil {
		errs = append(errs, err)
	}
	if !shaRE.MatchString(r.SHA256) {
		errs = append(errs, fmt.Errorf("sha256 %q: want 64 lowercase hex digits", r.SHA256))
	}
	if r.Artifact == "" {
		errs = append(errs, errors.New("artifact path is empty"))
	}
	return errors.Join(errs...)
}

// The release layout on a host, under its root R:
//
//	R/.artifacts/<sha256>          content-addressed store (uploads land here, verified)
//	R/releases/<version>/<binary>  hard link to the artifact
//	R/releases/<version>/.complete "<sha256> <unix-nanos>", written last: only complete releases are switched to
//	R/current -> releases/<version> switched atomically (symlink + rename)

// ArtifactPath is where the artifact with sha lives on a host.
func ArtifactPath(root, sha string) string { return root + "/.artifacts/" + sha }

// scripts are run as `sh -c SCRIPT NAME ARGS...`: the script is constant, the variable parts are argv.
// Every program started on a host costs a fork and an exec (milliseconds each, times every host), so the
// scripts use shell builtins where they can and skip work that is already done.
const (
	scriptCurrent = `readlink "$1/current" 2>/dev/null || true`

	// scriptStage prints "current <target>" first: the rollback target of this deploy.
	scriptStage = `set -eu
R=$1 V=$2 S=$3 B=$4 T=$5
d="$R/releases/$V"
cur=$(readlink "$R/current" 2>/dev/null || true)
printf 'current %s\n' "$cur"
if [ -f "$d/.complete" ]; then read -r have _ < "$d/.complete" || true; [ "$have" != "$S" ] || { echo present; exit 0; }; fi
if [ "$cur" = "releases/$V" ]; then
  echo "release $V is current with another artifact: deploy a new version" >&2; exit 1
fi
if [ -e "$d" ] || [ -L "$d" ]; then rm -rf "$d"; fi
mkdir -p "$d"
ln "$R/.artifacts/$S" "$d/$B" 2>/dev/null || { cp "$R/.artifacts/$S" "$d/$B"; chmod 0755 "$d/$B"; }
printf '%s %s\n' "$S" "$T" > "$d/.complete.tmp"
mv -f "$d/.complete.tmp" "$d/.complete"
echo staged
` + listReleases

	// listing prints "current <target>" and one "release <version> [<sha256> <unix-nanos>]" line per
	// release directory of $R (parsed by ParseListing), with shell builtins only but readlink, and without
	// changing directory.
	listing = `printf 'current %s\n' "$(readlink "$R/current" 2>/dev/null || true)"
` + listReleases

	// listReleases is listing without its current line (the stage script printed it first).
	listReleases = `for d in "$R"/releases/*/; do
  [ -d "$d" ] || continue
  d=${d%/}; n=${d##*/}; c=
  if [ -f "$d/.complete" ]; then read -r c < "$d/.complete" || true; fi
  if [ -n "$c" ]; then printf 'release %s %s\n' "$n" "$c"; else printf 'release %s\n' "$n"; fi
done
`

	// scriptSwitch switches, lists the releases (what pruning needs), then runs the restart command (its
	// argv follows R and V; its output goes to stderr) in the same round trip: the switch is on the
	// critical path of every batch.
	scriptSwitch = `set -eu
R=$1 V=$2
shift 2
[ -f "$R/releases/$V/.complete" ] || { echo "release $V is not complete on this host: refusing to switch" >&2; exit 1; }
ln -sfn "releases/$V" "$R/.current.tmp"
mv -fT "$R/.current.tmp" "$R/current"
` + listing + `[ $# -gt 0 ] || exit 0
rc=0
"$@" >&2 || rc=$?
[ $rc -eq 0 ] || { echo "switched to $V, then restart failed: $* exited $rc" >&2; exit $rc; }`

	scriptList = `R=$1
` + listing

	// scriptRemove deletes releases, then the artifacts no release links to any more (also those left by
	// failed stages). It runs beside the batches (pruning is background work), so at the lowest CPU
	// priority: a busy host gives the switch, the restart and the health checks the CPU first.
	scriptRemove = `R=$1
shift
nice -n 19 rm -rf -- "$@"
nice -n 19 find "$R/.artifacts" -maxdepth 1 -type f -links 1 -delete`
)

// CurrentArgv prints the target of R/current (empty before the first deploy).
func CurrentArgv(root string) []string {
	return []string{"sh", "-c", scriptCurrent, "plinth-current", root}
}

// StageArgv builds R/releases/V from the uploaded artifact and writes the completion marker last. It
// prints "current <target>" (the host's release before this deploy) and then "staged" or "present".
func StageArgv(root, version, sha, binary string, created time.Time) []string {
	return []string{"sh", "-c", scriptStage, "plinth-stage", root, version, sha, binary, strconv.FormatInt(created.UnixNano(), 10)}
}

// SwitchArgv points R/current at releases/V atomically, only if V is complete, prints the releases like
// ListArgv, then runs restart (when given) in the same command: a failed restart exits non-zero after
// the switch.
func SwitchArgv(root, version string, restart ...string) []string {
	return append([]string{"sh", "-c", scriptSwitch, "plinth-switch", root, version}, restart...)
}

// ListArgv lists the releases on a host (parsed by ParseListing).
func ListArgv(root string) []string {
	return []string{"sh", "-c", scriptList, "plinth-list", root}
}

// RemoveArgv deletes releases (never called with the current one: see PruneSet) and then the artifacts
// no release links to any more.
func RemoveArgv(root string, versions []string) []string {
	argv := []string{"sh", "-c", scriptRemove, "plinth-remove", root}
	for _, v := range versions {
		argv = append(argv, root+"/releases/"+v)
	}
	return argv
}

// HostRelease is one release directory found on a host.
type HostRelease struct {
	Version   string    `json:"version"`
	Complete  bool      `json:"complete"`
	SHA256    string    `json:"sha256,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitempty"`
}

// Listing is the state of a host's release root.
type Listing struct {
	Current  string        `json:"current"`
	Releases []HostRelease `json:"releases"` // oldest first
}

// CurrentVersion parses the output of CurrentArgv, or the "current <target>" line StageArgv prints.
func CurrentVersion(out []byte) string {
	s := strings.TrimSpace(string(out))
	if rest, ok := strings.CutPrefix(s, "current"); ok {
		s, _, _ = strings.Cut(rest, "\n")
		s = strings.TrimSpace(s)
	}
	return strings.TrimPrefix(s, "releases/")
}

// ParseListing parses the output of ListArgv.
func ParseListing(out []byte) (Listing, error) {
	var l Listing
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "current":
			if len(f) > 1 {
				l.Current = strings.TrimPrefix(f[1], "releases/")
			}
		case "release":
			if len(f) < 2 {
				return l, fmt.Errorf("listing: bad line %q", sc.Text())
			}
			// Names become paths in rm -rf: only valid, unique version names are accepted.
			if err := ValidateVersion(f[1]); err != nil {
				return l, fmt.Errorf("listing: %w", err)
			}
			if seen[f[1]] {
				return l, fmt.Errorf("listing: release %s listed twice", f[1])
			}
			seen[f[1]] = true
			r := HostRelease{Version: f[1]}
			if len(f) >= 4 && shaRE.MatchString(f[2]) {
				ns, err := strconv.ParseInt(f[3], 10, 64)
				if err == nil {
					r.Complete, r.SHA256, r.CreatedAt = true, f[2], time.Unix(0, ns).UTC()
				}
			}
			l.Releases = append(l.Releases, r)
		default:
			return l, fmt.Errorf("listing: bad line %q", sc.Text())
		}
	}
	sort.SliceStable(l.Releases, func(i, j int) bool {
		a, b := l.Releases[i], l.Releases[j]
		if a.Complete != b.Complete {
			return !a.Complete // incomplete first: they are the first to go
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.Version < b.Version
	})
	return l, sc.Err()
}

// PruneSet returns the releases to delete so that only the newest keep complete releases remain. It never
// returns the current release nor protect (the one being deployed); incomplete releases other than those
// are deleted (leftovers of failed deploys). keep < 1 is treated as 1.
func PruneSet(l Listing, keep int, protect string) []string {
	if keep < 1 {
		keep = 1
	}
	var del []string
	var complete []HostRelease
	for _, r := range l.Releases {
		if r.Complete {
			complete = append(complete, r)
			continue
		}
		if r.Version != l.Current && r.Version != protect {
			del = append(del, r.Version)
		}
	}
	// complete is oldest first.
	for i := 0; i < len(complete)-keep; i++ {
		v := complete[i].Version
		if v != l.Current && v != protect {
			del = append(del, v)
		}
	}
	return del
}

// ErrNoRollbackTarget means no complete release other than the current one exists.
var ErrNoRollbackTarget = errors.New("no complete previous release to roll back to")

// RollbackTarget picks the release to roll back to: `to` when given (it must be complete), else the newest
// complete release older than the current one. It never picks an incomplete release.
func RollbackTarget(l Listing, to string) (string, error) {
	if to != "" {
		for _, r := range l.Releases {
			if r.Version == to {
				if !r.Complete {
					return "", fmt.Errorf("release %s is incomplete: refusing to roll back to it", to)
				}
				return to, nil
			}
		}
		return "", fmt.Errorf("release %s: not on the host", to)
	}
	var cur *HostRelease
	for i := range l.Releases {
		if l.Releases[i].Version == l.Current {
			cur = &l.Releases[i]
		}
	}
	best := ""
	var bestAt time.Time
	for _, r := range l.Releases {
		if !r.Complete || r.Version == l.Current {
			continue
		}
		if cur != nil && cur.Complete && !r.CreatedAt.Before(cur.CreatedAt) {
			continue
		}
		if best == "" || r.CreatedAt.After(bestAt) {
			best, bestAt = r.Version, r.CreatedAt
		}
	}
	if best == "" {
		return "", ErrNoRollbackTarget
	}
	return best, nil
}
