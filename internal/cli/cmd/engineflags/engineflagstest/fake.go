// Package engineflagstest has a fake engine and a project dir for tests of the engine commands.
package engineflagstest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/plinth-dev/plinth/internal/cli/cmd/engineflags"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/provision"
)

// Engine records calls and returns canned results.
type Engine struct {
	Opened  provision.Options
	Up      provision.UpOptions
	Preview provision.PreviewOptions
	Calls   []string
	Result  provision.Result
	Drift   provision.DriftReport
	Err     error
	Events  []provision.Event
}

// Open is an engineflags.Opener returning e (emitting e.Events through the options' OnEvent).
func (e *Engine) Open(_ context.Context, o provision.Options) (engineflags.Engine, error) {
	e.Opened = o
	return &opened{e}, nil
}

type opened struct{ e *Engine }

func (o *opened) emit() {
	for _, ev := range o.e.Events {
		if o.e.Opened.OnEvent != nil {
			o.e.Opened.OnEvent(ev)
		}
	}
}

func (o *opened) Preview(_ context.Context, po provision.PreviewOptions) (provision.Result, error) {
	o.e.Calls, o.e.Preview = append(o.e.Calls, "preview"), po
	o.emit()
	return o.e.Result, o.e.Err
}

func (o *opened) Up(_ context.Context, uo provision.UpOptions) (provision.Result, error) {
	o.e.Calls, o.e.Up = append(o.e.Calls, "up"), uo
	o.emit()
	return o.e.Result, o.e.Err
}

func (o *opened) Refresh(context.Context) (provision.Result, error) {
	o.e.Calls = append(o.e.Calls, "refresh")
	o.emit()
	return o.e.Result, o.e.Err
}

func (o *opened) Destroy(context.Context) (provision.Result, error) {
	o.e.Calls = append(o.e.Calls, "destroy")
	o.emit()
	return o.e.Result, o.e.Err
}

func (o *opened) Drift(context.Context) (provision.DriftReport, error) {
	o.e.Calls = append(o.e.Calls, "drift")
	o.emit()
	return o.e.Drift, o.e.Err
}

func (o *opened) Close() { o.e.Calls = append(o.e.Calls, "close") }

// Project writes a project dir with environments/Pulumi.<stack>.yaml for staging, preproduction and
// production, links a no-op program (the fake engine never runs it), and returns the dir and a Getenv pointing PLINTH_PULUMI at an
// executable (the fake engine never runs it).
func Project(t *testing.T) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"staging", "preproduction", "production"} {
		cfg := []byte("config:\n  plinth:spec:\n    region: eu-west-1\n")
		if err := os.WriteFile(filepath.Join(dir, "environments", "Pulumi."+s+".yaml"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "pulumi")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, func(k string) string {
		switch k {
		case "PLINTH_PULUMI":
			return bin
		case "USER":
			return "tester"
		}
		return ""
	}
}

// Program is a Pulumi program that creates nothing (the fakes never run it).
func Program(*pulumi.Context) error { return nil }

// Common builds the common options of an engine command for tests.
func Common(ios *iostreams.IOStreams, dir string, getenv func(string) string, open engineflags.Opener, stack, output string) engineflags.Common {
	return engineflags.Common{IO: ios, ProjectDir: func() (string, error) { return dir, nil }, Getenv: getenv, Open: open,
		Program: Program,
		Stack:   stack, Output: output}
}
