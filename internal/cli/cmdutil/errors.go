package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-dev/plinth/internal/backup/target"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/policyeval"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/rollout"
	"github.com/plinth-dev/plinth/internal/stackconfig"
)

// Exit codes (the README's exit-code table; TestExitTableMatchesREADME keeps the two equal).
const (
	ExitOK               = 0
	ExitFailure          = 1   // any failure not listed below
	ExitUsage            = 2   // bad flags or arguments
	ExitConfigInvalid    = 3   // the environment spec failed validation
	ExitPolicyViolation  = 4   // a mandatory policy rule was violated
	ExitDrift            = 5   // drift detected between state and the cloud
	ExitLocked           = 6   // a deploy or stack lock is held by someone else
	ExitPromotionRefused = 7   // production asked to apply a revision preproduction has not applied
	ExitPlanRefused      = 8   // a saved plan no longer matches the program or config
	ExitDRTargetMissed   = 9   // a drill measured its RTO and RPO and missed a target (dr.rtoTarget, dr.rpoTarget)
	ExitCancelled        = 130 // interrupted
)

// ExitRule is one row of the exit-code table: the code, what it means (the README's words), and the domain
// errors (sentinels or types) that exit with it.
type ExitRule struct {
	Code    int
	Meaning string
	Match   func(error) bool
}

func is(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// ExitRules is the one exit-code table, in the order errors are matched. A command whose result (not an
// error) decides the code — violations found, drift found, stacks invalid — says so with WithExitCode /
// SilentExit, which wins over every row.
func ExitRules() []ExitRule {
	never := func(error) bool { return false }
	return []ExitRule{
		{ExitOK, "success", never},
		{ExitUsage, "bad flags or arguments", func(err error) bool {
			return as[*FlagError](err) || as[*provision.UnknownStackError](err) || as[*target.InputError](err) ||
				is(stackconfig.ErrBadStackName, provision.ErrCloudMismatch)(err) ||
				is(rollout.ErrUsage, cloud.ErrCloudMismatch)(err)
		}},
		{ExitConfigInvalid, "the environment spec is invalid (every problem is printed)", is(stackconfig.ErrInvalid, rollout.ErrInvalid)},
		{ExitPolicyViolation, "a mandatory policy rule is violated", is(policyeval.ErrMandatory)},
		{ExitDrift, "drift found (`plinth drift`)", never},
		{ExitLocked, "a deploy lock or stack lock is held by someone else (the holder is named)", func(err error) bool {
			return as[*deploy.LockedError](err) || is(provision.ErrLocked)(err)
		}},
		{ExitPromotionRefused, "the promotion gate refused production (preproduction has not applied this revision)", is(provision.ErrPromotionRefused)},
		{ExitPlanRefused, "a saved plan no longer matches (`up --plan`)", is(provision.ErrPlanRefused)},
		{ExitDRTargetMissed, "a DR drill missed its RTO or RPO target (`plinth drill`; the report says which)", never},
		{ExitCancelled, "interrupted", is(context.Canceled)},
		{ExitFailure, "any other failure", never},
	}
}

// ExitCodeOf maps err to plinth's exit code: an explicit code first, then the table, else ExitFailure.
func ExitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var exitErr *ExitError
	if errors.As(err, &exitErr) {
		return exitErr.Code
	}
	for _, r := range ExitRules() {
		if r.Match(err) {
			return r.Code
		}
	}
	return ExitFailure
}

// Coded attaches err's exit code from the table (so a command's tests can read it): a usage error becomes a
// FlagError, another listed code an ExitError; nil and unlisted errors stay as they are.
func Coded(err error) error {
	var exitErr *ExitError
	var flagErr *FlagError
	switch code := ExitCodeOf(err); {
	case code == ExitFailure || code == ExitOK || errors.As(err, &exitErr) || errors.As(err, &flagErr):
		return err
	case code == ExitUsage:
		return &FlagError{Err: err}
	default:
		return &ExitError{Code: code, Err: err}
	}
}

// ExitError attaches an exit code to an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// WithExitCode wraps err so that cli.Main exits with code (for codes a command's result decides).
func WithExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// FlagError is a usage error: bad flags or arguments.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent signals that the command already reported its failure; Main prints nothing more.
var ErrSilent = errors.New("silent error")

// SilentExit returns an error that prints nothing and exits with code.
func SilentExit(code int) error { return &ExitError{Code: code, Err: ErrSilent} }
