package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/stackconfig"
)

// TestExitTableMatchesREADME: the README's exit-code table lists exactly the codes of ExitRules, with the
// same meanings, so the docs cannot drift from the code.
func TestExitTableMatchesREADME(t *testing.T) {
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Exit codes")
	if !ok {
		t.Fatal("README has no '### Exit codes' section")
	}
	row := regexp.MustCompile(`(?m)^\| (\d+) \| (.+?) \|$`)
	readme := map[int]string{}
	for _, m := range row.FindAllStringSubmatch(strings.SplitN(section, "\n## ", 2)[0], -1) {
		code, _ := strconv.Atoi(m[1])
		readme[code] = m[2]
	}
	table := map[int]string{}
	for _, r := range ExitRules() {
		if _, dup := table[r.Code]; dup {
			t.Errorf("code %d twice in ExitRules", r.Code)
		}
		table[r.Code] = r.Meaning
	}
	for code, meaning := range table {
		if readme[code] != meaning {
			t.Errorf("exit %d: README says %q, ExitRules says %q", code, readme[code], meaning)
		}
	}
	for code := range readme {
		if _, ok := table[code]; !ok {
			t.Errorf("exit %d is in the README but not in ExitRules", code)
		}
	}
}

func TestExitCodeOfDomainErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFailure},
		{FlagErrorf("--x"), ExitUsage},
		{fmt.Errorf("open: %w", provision.ErrCloudMismatch), ExitUsage},
		{&provision.UnknownStackError{Stack: "qa"}, ExitUsage},
		{fmt.Errorf("deploy: %w", &deploy.LockedError{}), ExitLocked},
		{fmt.Errorf("up: %w", provision.ErrLocked), ExitLocked},
		{fmt.Errorf("up: %w", provision.ErrPromotionRefused), ExitPromotionRefused},
		{fmt.Errorf("up: %w", provision.ErrPlanRefused), ExitPlanRefused},
		{fmt.Errorf("x: %w", stackconfig.ErrInvalid), ExitConfigInvalid},
		{fmt.Errorf("x: %w", context.Canceled), ExitCancelled},
		{WithExitCode(ExitDrift, provision.ErrLocked), ExitDrift}, // an explicit code wins
		{SilentExit(ExitPolicyViolation), ExitPolicyViolation},
	} {
		if got := ExitCodeOf(tt.err); got != tt.want {
			t.Errorf("ExitCodeOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if coded := Coded(tt.err); ExitCodeOf(coded) != tt.want || tt.err != nil && coded.Error() != tt.err.Error() {
			t.Errorf("Coded(%v) = %v, want exit %d and the same message", tt.err, coded, tt.want)
		}
	}
}
