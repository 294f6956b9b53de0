package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// LockInfo says who holds a stack's deploy lock.
type LockInfo struct {
	ID      string    `json:"id"`
	Holder  string    `json:"holder"`
	Stack   string    `json:"stack"`
	Tier    string    `json:"tier,omitempty"`
	Version string    `json:"version,omitempty"`
	Action  string    `json:"action,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"`
}

// LockedError is returned when another deploy holds the lock.
type LockedError struct{ Holder LockInfo }

func (e *LockedError) Error() string {
	h := e.Holder
	msg := fmt.Sprintf("stack %s is locked by %s since %s", h.Stack, h.Holder, h.Time.UTC().Format(time.RFC3339))
	if h.Action != "" || h.Version != "" {
		msg += fmt.Sprintf(" (%s %s %s)", h.Action, h.Tier, h.Version)
	}
	if h.Message != "" {
		msg += ": " + h.Message
	}
	return msg
}

// AuditRecord is one line of the bastion's audit log: who deployed what, and how it ended.
type AuditRecord struct {
	Time      time.Time `json:"time"`
	ID        string    `json:"id"`
	Holder    string    `json:"holder"`
	Stack     string    `json:"stack"`
	Tier      string    `json:"tier"`
	Action    string    `json:"action"` // deploy, rollback, lock-release
	Version   string    `json:"version,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Result    string    `json:"result"` // started, succeeded, failed
	Message   string    `json:"message,omitempty"`
	Error     string    `json:"error,omitempty"`
	Hosts     []string  `json:"hosts,omitempty"`
	BytesSent int64     `json:"bytesSent,omitempty"`
	ElapsedMs int64     `json:"elapsedMs,omitempty"`
	// Escrow is where the release's artifact is kept for recovery (the stack's release escrow).
	Escrow *EscrowRef `json:"escrow,omitempty"`
}

// EscrowRef is an artifact kept in a stack's release escrow: its object's URL (s3://bucket/artifacts/sha256/<hex>)
// and size.
type EscrowRef struct {
	URL  string `json:"url"`
	Size int64  `json:"size"`
}

// State keeps the deploy lock and the audit log in Dir on the bastion (files: locks/<stack>.lock,
// audit.jsonl), through a Runner.
type State struct {
	Runner Runner
	Host   inventory.Host
	Dir    string
}

const (
	exitLocked = 75

	// The lock file is created complete (holder JSON) and linked into place with ln: atomic, and it fails
	// when the lock exists.
	scriptLock = `set -eu
d="$1/locks"; f="$d/$2.lock"; t="$d/.$2.$$.tmp"
mkdir -p "$d"
cat > "$t"
if ln "$t" "$f" 2>/dev/null; then rm -f "$t"; exit 0; fi
rm -f "$t"
cat "$f" 2>/dev/null || true
exit 75`
	scriptUnlock = `set -eu
f="$1/locks/$2.lock"
[ -f "$f" ] || exit 0
if [ -n "$3" ] && ! grep -qF "\"id\":\"$3\"" "$f"; then cat "$f"; exit 75; fi
rm -f "$f"`
	scriptLockStatus = `cat "$1/locks/$2.lock" 2>/dev/null || true`
	scriptAudit      = `set -eu
mkdir -p "$1"
cat >> "$1/audit.jsonl"`
	// scriptLockAudit is scriptLock, then (only once the lock is held) the audit record of stdin's second
	// line appended: one round trip to the bastion instead of two.
	scriptLockAudit = `set -eu
d="$1/locks"; f="$d/$2.lock"; t="$d/.$2.$$.tmp"
mkdir -p "$d"
IFS= read -r lock
IFS= read -r rec
printf '%s' "$lock" > "$t"
if ln "$t" "$f" 2>/dev/null; then rm -f "$t"; printf '%s\n' "$rec" >> "$1/audit.jsonl"; exit 0; fi
rm -f "$t"
cat "$f" 2>/dev/null || true
exit 75`
	// scriptAuditUnlock appends stdin's record to the audit log, then releases the lock like scriptUnlock:
	// the last two steps of a session in one round trip. The record is written first: no unlock without it.
	scriptAuditUnlock = `set -eu
mkdir -p "$1"
IFS= read -r rec
printf '%s\n' "$rec" >> "$1/audit.jsonl"
f="$1/locks/$2.lock"
[ -f "$f" ] || exit 0
if [ -n "$3" ] && ! grep -qF "\"id\":\"$3\"" "$f"; then cat "$f"; exit 75; fi
rm -f "$f"`
	scriptHistory = `tail -n "$2" "$1/audit.jsonl" 2>/dev/null || true`
)

var stackRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func checkStack(stack string) error {
	if !stackRE.MatchString(stack) {
		return fmt.Errorf("stack %q: invalid name", stack)
	}
	return nil
}

// Acquire takes the lock of info.Stack, or returns *LockedError naming the holder.
func (s State) Acquire(ctx context.Context, info LockInfo) error {
	if err := checkStack(info.Stack); err != nil {
		return err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	res, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptLock, "plinth-lock", s.Dir, info.Stack}, Stdin: data})
	if err != nil {
		return s.lockErr(info.Stack, res, err)
	}
	return nil
}

// AcquireAudit is Acquire, then Audit(rec) once the lock is held, in one command on the bastion. When it
// fails otherwise than with *LockedError, the lock may be held: the caller releases it (by id).
func (s State) AcquireAudit(ctx context.Context, info LockInfo, rec AuditRecord) error {
	if err := checkStack(info.Stack); err != nil {
		return err
	}
	lock, err := json.Marshal(info)
	if err != nil {
		return err
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	stdin := append(append(append(lock, '\n'), line...), '\n')
	res, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptLockAudit, "plinth-lock", s.Dir, info.Stack}, Stdin: stdin})
	if err != nil {
		return s.lockErr(info.Stack, res, err)
	}
	return nil
}

func (s State) lockErr(stack string, res Result, err error) error {
	var ce *CommandError
	if errors.As(err, &ce) && ce.ExitCode == exitLocked {
		var holder LockInfo
		if json.Unmarshal(res.Stdout, &holder) != nil {
			holder = LockInfo{Stack: stack, Holder: "unknown (unreadable lock file)"}
		}
		return &LockedError{Holder: holder}
	}
	return fmt.Errorf("lock %s on %s: %w", stack, s.Host.Name, err)
}

// AuditRelease appends rec to the audit log, then releases stack's lock held by id (Release's rules), in
// one command on the bastion. An error naming the audit log means nothing was released.
func (s State) AuditRelease(ctx context.Context, rec AuditRecord, stack, id string) error {
	return s.auditRelease(ctx, rec, stack, id, nil)
}

func auditReleaseArgv(dir, stack, id string) []string {
	return []string{"sh", "-c", scriptAuditUnlock, "plinth-audit-unlock", dir, stack, id}
}

// prepareAuditRelease starts AuditRelease's command ahead on the bastion when the runner can (Preparer):
// the last record and the unlock then cost a line and the record. nil when it cannot.
func (s State) prepareAuditRelease(ctx context.Context, stack, id string) Prepared {
	pr, ok := s.Runner.(Preparer)
	if !ok || checkStack(stack) != nil {
		return nil
	}
	return pr.Prepare(ctx, s.Host, Command{Argv: auditReleaseArgv(s.Dir, stack, id)})
}

// auditRelease is AuditRelease through pre (prepared by prepareAuditRelease) when not nil; a command that
// did not start is run afresh.
func (s State) auditRelease(ctx context.Context, rec AuditRecord, stack, id string, pre Prepared) error {
	if err := checkStack(stack); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	cmd := Command{Argv: auditReleaseArgv(s.Dir, stack, id), Stdin: data}
	var res Result
	if pre != nil {
		res, err = pre.Run(ctx, data)
	}
	if pre == nil || errors.Is(err, ErrNotStarted) {
		res, err = s.Runner.Run(ctx, s.Host, cmd)
	}
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && ce.ExitCode == exitLocked {
			var holder LockInfo
			_ = json.Unmarshal(res.Stdout, &holder)
			return &LockedError{Holder: holder}
		}
		return fmt.Errorf("audit log and unlock %s on %s: %w", stack, s.Host.Name, err)
	}
	return nil
}

// Release frees the lock of stack. With id set, only that holder's lock is released (a *LockedError
// otherwise); an empty id forces the release.
func (s State) Release(ctx context.Context, stack, id string) error {
	if err := checkStack(stack); err != nil {
		return err
	}
	res, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptUnlock, "plinth-unlock", s.Dir, stack, id}})
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && ce.ExitCode == exitLocked {
			var holder LockInfo
			_ = json.Unmarshal(res.Stdout, &holder)
			return &LockedError{Holder: holder}
		}
		return fmt.Errorf("unlock %s on %s: %w", stack, s.Host.Name, err)
	}
	return nil
}

// Status returns the holder of stack's lock, or nil when it is free.
func (s State) Status(ctx context.Context, stack string) (*LockInfo, error) {
	if err := checkStack(stack); err != nil {
		return nil, err
	}
	res, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptLockStatus, "plinth-lock-status", s.Dir, stack}})
	if err != nil {
		return nil, fmt.Errorf("lock status %s on %s: %w", stack, s.Host.Name, err)
	}
	if len(bytes.TrimSpace(res.Stdout)) == 0 {
		return nil, nil
	}
	var info LockInfo
	if err := json.Unmarshal(res.Stdout, &info); err != nil {
		return nil, fmt.Errorf("lock status %s: unreadable lock file: %w", stack, err)
	}
	return &info, nil
}

// Audit appends rec to the audit log (one JSON line: appends are atomic).
func (s State) Audit(ctx context.Context, rec AuditRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if _, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptAudit, "plinth-audit", s.Dir}, Stdin: data}); err != nil {
		return fmt.Errorf("audit log on %s: %w", s.Host.Name, err)
	}
	return nil
}

// History returns the last n audit records (of every stack), oldest first.
func (s State) History(ctx context.Context, n int) ([]AuditRecord, error) {
	if n < 1 {
		n = 20
	}
	res, err := s.Runner.Run(ctx, s.Host, Command{Argv: []string{"sh", "-c", scriptHistory, "plinth-history", s.Dir, strconv.Itoa(n)}})
	if err != nil {
		return nil, fmt.Errorf("audit log on %s: %w", s.Host.Name, err)
	}
	var recs []AuditRecord
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r AuditRecord
		if err := json.Unmarshal(line, &r); err != nil {
			continue // a torn or foreign line does not hide the rest
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}
