package cmdutil

import (
	"errors"
	"fmt"
)

// Exit codes, decided in one place (cli.Main maps errors to them). Documented in the README.
const (
	ExitOK              = 0
	ExitFailure         = 1 // any failure not listed below
	ExitUsage           = 2 // bad flags or arguments
	ExitConfigInvalid   = 3 // the environment spec failed validation
	ExitPolicyViolation = 4 // a mandatory policy rule was violated
	ExitDrift           = 5 // drift detected between state and the cloud
	ExitLocked          = 6 // a deploy or stack lock is held by someone else
	ExitCancelled       = 130
)

// ExitError attaches an exit code to an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// WithExitCode wraps err so that cli.Main exits with code.
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

// Exit codes of the provisioning engine (plinth up/preview --plan).
const (
	ExitPromotionRefused = 7 // production asked to apply a revision preproduction has not applied
	ExitPlanRefused      = 8 // a saved plan no longer matches the program or config
)

// Exit codes of the DR drill (plinth drill).
const (
	ExitDRTargetMissed = 9 // a drill measured its RTO and RPO and missed a target (dr.rtoTarget, dr.rpoTarget)
)
