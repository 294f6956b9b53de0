package graph

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/graph"
	"github.com/plinth-dev/plinth/internal/stackconfig"
)

func repoRoot() (string, error) { return "../../../..", nil }

// fakeRenderer stands in for Graphviz in the command tests (the real dot renders in internal/graph's test).
type fakeRenderer struct {
	installed bool
	got       []byte
}

func (f *fakeRenderer) Available() bool { return f.installed }
func (f *fakeRenderer) Render(_ context.Context, src []byte, format string) ([]byte, error) {
	f.got = src
	return []byte("<svg>" + format + "</svg>"), nil
}

func run(t *testing.T, r Renderer, args ...string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, ProjectDir: repoRoot}
	cmd := NewCmdGraph(f, func(ctx context.Context, o *GraphOptions) error {
		o.Renderer = r
		return graphRun(ctx, o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		wantFormat string
		wantErr    string
	}{
		{[]string{}, "", "--stack is required"},
		{[]string{"--stack", "production"}, FormatSVG, ""},
		{[]string{"--stack", "production", "-o", "p.dot"}, FormatDOT, ""},
		{[]string{"--stack", "production", "-o", "p.gv"}, FormatDOT, ""},
		{[]string{"--stack", "production", "-o", "p.svg", "--format", "dot"}, FormatDOT, ""},
		{[]string{"--stack", "production", "--format", "png"}, "", `--format: want dot or svg, got "png"`},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *GraphOptions
		cmd := NewCmdGraph(&cmdutil.Factory{IOStreams: ios, ProjectDir: repoRoot}, func(_ context.Context, o *GraphOptions) error {
			got = o
			return nil
		})
		cmd.SetArgs(tc.args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		if tc.wantErr != "" {
			var fe *cmdutil.FlagError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &fe) {
				t.Errorf("%v: err %v, want flag error %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Format != tc.wantFormat {
			t.Errorf("%v: err %v, format %q want %q", tc.args, err, got.Format, tc.wantFormat)
		}
	}
}

func TestSVGThroughRenderer(t *testing.T) {
	r := &fakeRenderer{installed: true}
	out, errOut, err := run(t, r, "--stack", "staging", "--flows")
	if err != nil {
		t.Fatal(err)
	}
	if out != "<svg>svg</svg>" || !strings.HasPrefix(string(r.got), `digraph "staging" {`) {
		t.Errorf("stdout %q, renderer got %.40q", out, r.got)
	}
	if !strings.Contains(errOut, "graph staging: ") || !strings.Contains(errOut, "-> stdout (svg)") || strings.Contains(errOut, " 0 flow)") {
		t.Errorf("summary: %q", errOut)
	}
}

// TestDOTWhenGraphvizMissing: asked for SVG without Graphviz, plinth writes DOT, says so, and does not put
// DOT into a file named .svg.
func TestDOTWhenGraphvizMissing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "production.svg")
	_, errOut, err := run(t, &fakeRenderer{}, "--stack", "production", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(strings.TrimSuffix(out, ".svg") + ".dot")
	if err != nil || !strings.HasPrefix(string(data), `digraph "production" {`) {
		t.Fatalf("DOT file: %v %.40q", err, data)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("wrote DOT into a .svg file")
	}
	if !strings.Contains(errOut, graph.ErrNoGraphviz.Error()) || !strings.Contains(errOut, "writing DOT instead of SVG") {
		t.Errorf("no fallback note: %q", errOut)
	}
}

func TestDOTToStdoutMatchesBuild(t *testing.T) {
	out, _, err := run(t, &fakeRenderer{installed: true}, "--stack", "production", "--format", "dot")
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := stackconfig.EvaluateStack(repoRoot, "production")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	if err := graph.WriteDOT(&want, graph.Build(res, graph.Options{})); err != nil {
		t.Fatal(err)
	}
	if out != want.String() {
		t.Error("stdout is not the stack's DOT")
	}
}

func TestUnknownStack(t *testing.T) {
	_, _, err := run(t, &fakeRenderer{}, "--stack", "nope")
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown stack: %v", err)
	}
}
