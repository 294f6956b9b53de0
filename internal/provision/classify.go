package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// classify turns an Automation API error into a short error wrapping plinth's sentinels. The Automation API
// types what it can (auto.IsConcurrentUpdateError, auto.IsSelectStack404Error, context errors): those are
// tested first. A refused plan and an unreadable state reach plinth only as the CLI's stderr, so those two are
// recognised by the engine's wording, each in one predicate below.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := engineMessage(err)
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, err)
	case auto.IsConcurrentUpdateError(err) || lockedMessage(msg):
		return fmt.Errorf("%s: %w: %s", what, ErrLocked, msg)
	case planRefusedMessage(msg):
		return fmt.Errorf("%s: %w: the saved plan no longer matches the program or config: %s", what, ErrPlanRefused, msg)
	case corruptStateMessage(msg):
		return fmt.Errorf("%s: %w (left untouched): %s", what, ErrCorruptState, msg)
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// isNoStack says whether err is the backend saying the stack does not exist.
func isNoStack(err error) bool {
	if auto.IsSelectStack404Error(err) {
		return true
	}
	// The file backend's wording, which the Automation API does not type for every command.
	return strings.Contains(err.Error(), "no stack named")
}

// lockedMessage: a file backend's lock held by another update (its wording is not typed).
func lockedMessage(msg string) bool {
	lower := strings.ToLower(msg)
	return strings.Contains(lower, "currently locked") || strings.Contains(lower, "conflict: another update")
}

// planRefusedMessage: the engine refusing a step the saved plan does not allow.
func planRefusedMessage(msg string) bool {
	lower := strings.ToLower(msg)
	return strings.Contains(lower, "plan") && containsAny(lower, "violat", "not allowed", "mismatch", "changed", "expected")
}

// corruptStateMessage: the backend's checkpoint did not deserialize.
func corruptStateMessage(msg string) bool {
	return containsAny(strings.ToLower(msg), "deserializ", "invalid character", "unexpected end of json",
		"could not read", "corrupt")
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// engineMessage extracts the "error:" lines of the CLI's stderr from an Automation API error.
func engineMessage(err error) string {
	full := stripANSI(err.Error())
	var lines []string
	inError := false
	for _, raw := range strings.Split(full, "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "stderr:"))
		if m, ok := strings.CutPrefix(l, "error: "); ok && m != "" {
			inError = !slices.Contains(lines, m)
			if inError {
				lines = append(lines, m)
			}
			continue
		}
		// Indented lines right after an error continue it (e.g. who holds a lock).
		if inError && l != "" && (strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t")) {
			lines[len(lines)-1] += "; " + l
			continue
		}
		inError = false
	}
	if len(lines) == 0 {
		first, _, _ := strings.Cut(full, "\n")
		return first
	}
	return strings.Join(lines, "; ")
}
