package engineflags_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

func TestStackConfigsFallBackToTheShippedOnes(t *testing.T) {
	got, err := engineflags.StackConfigs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"staging", "preproduction", "production"} {
		if !strings.Contains(string(got[s]), "plinth:spec") {
			t.Errorf("%s: shipped config missing: %q", s, got[s])
		}
	}
}

func TestOptionsResolveFlagsThenEnvironment(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	env := func(k string) string {
		switch k {
		case "PLINTH_BACKEND":
			return "s3://from-env"
		case "PLINTH_CLOUD":
			return "local"
		case "PLINTH_HOME":
			return "/tmp/plinth-home"
		}
		return getenv(k)
	}
	ios, _, _, _ := iostreams.Test()
	e := engineflags.Env{IO: ios, ProjectDir: func() (string, error) { return dir, nil }, Getenv: env}
	o, err := engineflags.Options(context.Background(), e, "production", engineflags.Flags{SecretsProvider: "awskms://alias/k", PolicyPacks: []string{"policy"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if o.Backend != "s3://from-env" || o.Cloud != "local" || o.Home != "/tmp/plinth-home" || o.SecretsProvider != "awskms://alias/k" ||
		len(o.PolicyPacks) != 1 || o.Program == nil || o.OnEvent == nil || o.Revision.ConfigHash == "" {
		t.Fatalf("options %+v", o)
	}
	o, err = engineflags.Options(context.Background(), e, "production", engineflags.Flags{Backend: "gs://flag", Cloud: "aws"}, false)
	if err != nil || o.Backend != "gs://flag" || o.Cloud != "aws" {
		t.Fatalf("flags do not win over env: %+v %v", o, err)
	}
	if _, err := engineflags.Options(context.Background(), e, "staging", engineflags.Flags{Cloud: "azure"}, false); err == nil {
		t.Fatal("bad --cloud accepted")
	}
}

func TestExitErr(t *testing.T) {
	cases := map[error]int{
		provision.ErrLocked:           cmdutil.ExitLocked,
		provision.ErrPromotionRefused: cmdutil.ExitPromotionRefused,
		provision.ErrPlanRefused:      cmdutil.ExitPlanRefused,
	}
	for sentinel, code := range cases {
		var ee *cmdutil.ExitError
		if err := engineflags.ExitErr(errors.Join(errors.New("ctx"), sentinel)); !errors.As(err, &ee) || ee.Code != code {
			t.Errorf("%v: got %v", sentinel, err)
		}
	}
	if err := engineflags.ExitErr(errors.New("other")); err == nil || err.Error() != "other" {
		t.Errorf("other error changed: %v", err)
	}
}

func TestStackOutputsWithoutPulumiIsNoStackOutputs(t *testing.T) {
	read := engineflags.StackOutputs(func(k string) string {
		if k == "PLINTH_PULUMI" {
			return "/nonexistent/pulumi"
		}
		return ""
	}, func() (string, error) { return t.TempDir(), nil })
	_, err := read(context.Background(), "staging")
	if !errors.Is(err, cmdutil.ErrNoStackOutputs) {
		t.Fatalf("got %v", err)
	}
}
