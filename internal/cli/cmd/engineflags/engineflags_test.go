package engineflags_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags/engineflagstest"
	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/stacks"
)

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
	e := engineflags.Env{IO: ios, ProjectDir: func() (string, error) { return dir, nil }, Getenv: env, Program: stacks.Program}
	o, err := engineflags.Options(context.Background(), e, "production", engineflags.Flags{SecretsProvider: "awskms://alias/k", PolicyPacks: []string{"policy"}}, "human")
	if err != nil {
		t.Fatal(err)
	}
	if o.Backend != "s3://from-env" || o.Cloud != "local" || o.Home != "/tmp/plinth-home" || o.SecretsProvider != "awskms://alias/k" ||
		len(o.PolicyPacks) != 1 || o.Program == nil || o.OnEvent == nil || o.Revision.ConfigHash == "" {
		t.Fatalf("options %+v", o)
	}
	o, err = engineflags.Options(context.Background(), e, "production", engineflags.Flags{Backend: "gs://flag", Cloud: "aws"}, "human")
	if err != nil || o.Backend != "gs://flag" || o.Cloud != "aws" {
		t.Fatalf("flags do not win over env: %+v %v", o, err)
	}
	if _, err := engineflags.Options(context.Background(), e, "staging", engineflags.Flags{Cloud: "azure"}, "human"); err == nil {
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
		if err := cmdutil.Coded(errors.Join(errors.New("ctx"), sentinel)); !errors.As(err, &ee) || ee.Code != code {
			t.Errorf("%v: got %v", sentinel, err)
		}
	}
	if err := cmdutil.Coded(errors.New("other")); err == nil || err.Error() != "other" {
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

func TestProjectPolicyPackIsAttachedOnlyWhenTheEngineCanRunIt(t *testing.T) {
	dir, getenv := engineflagstest.Project(t)
	if err := os.MkdirAll(filepath.Join(dir, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy", "PulumiPolicy.yaml"), []byte("runtime: go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no pulumi-language-go on PATH
	ios, _, _, errOut := iostreams.Test()
	e := engineflags.Env{IO: ios, ProjectDir: func() (string, error) { return dir, nil }, Getenv: getenv, Program: stacks.Program}
	o, err := engineflags.Options(context.Background(), e, "staging", engineflags.Flags{}, "human")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.PolicyPacks) != 0 || !strings.Contains(errOut.String(), "not attached") {
		t.Fatalf("packs %v, stderr %q", o.PolicyPacks, errOut)
	}
	// With the language host beside the CLI, the project's pack runs with every preview and up.
	if err := os.WriteFile(filepath.Join(filepath.Dir(getenv("PLINTH_PULUMI")), "pulumi-language-go"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o, err = engineflags.Options(context.Background(), e, "staging", engineflags.Flags{}, "human")
	if err != nil || len(o.PolicyPacks) != 1 || o.PolicyPacks[0] != filepath.Join(dir, "policy") {
		t.Fatalf("packs %v %v", o.PolicyPacks, err)
	}
	o, err = engineflags.Options(context.Background(), e, "staging", engineflags.Flags{PolicyPacks: []string{"/other"}}, "human")
	if err != nil || len(o.PolicyPacks) != 1 || o.PolicyPacks[0] != "/other" {
		t.Fatalf("explicit packs %v %v", o.PolicyPacks, err)
	}
}
