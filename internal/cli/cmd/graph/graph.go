// Package graph implements `plinth graph --stack S [--format dot|svg] [--flows] [-o FILE]`: the stack's
// resource graph from the offline evaluation (components as clusters, parent and dependency edges, with
// --flows the firewall's tier-to-tier flows and their ports), as SVG through Graphviz's dot when it is
// installed, as DOT otherwise.
package graph

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
	"github.com/plinth-dev/plinth/internal/cli/iostreams"
	"github.com/plinth-dev/plinth/internal/graph"
	"github.com/plinth-dev/plinth/internal/offline"
	"github.com/plinth-dev/plinth/internal/stackconfig"
	"github.com/plinth-dev/plinth/internal/views"
)

// Formats.
const (
	FormatDOT = "dot"
	FormatSVG = "svg"
)

// Renderer turns DOT into another format (graph.Dot: Graphviz's dot).
type Renderer interface {
	Available() bool
	Render(ctx context.Context, src []byte, format string) ([]byte, error)
}

// GraphOptions are the inputs of `plinth graph`.
type GraphOptions struct {
	IO         *iostreams.IOStreams
	ProjectDir func() (string, error)
	// Evaluate produces the stack's resources (default: the offline mock-engine evaluation).
	Evaluate func(projectDir func() (string, error), stack string) (*offline.Result, string, error)
	Renderer Renderer

	Stack  string
	Format string // dot or svg; "" picks from Out's extension, else svg
	Flows  bool
	Out    string // "" or "-" writes to stdout
}

// NewCmdGraph builds `plinth graph`. runF replaces the run function in tests.
func NewCmdGraph(f *cmdutil.Factory, runF func(context.Context, *GraphOptions) error) *cobra.Command {
	opts := &GraphOptions{IO: f.IOStreams, ProjectDir: f.ProjectDir, Evaluate: stackconfig.EvaluateStack, Renderer: graph.Dot{}}
	cmd := &cobra.Command{
		Use:   "graph --stack NAME [--format dot|svg] [--flows] [-o FILE]",
		Short: "Draw the stack's resources: components as clusters, dependencies, firewall flows (SVG or DOT)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return graphRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Stack, "stack", "s", "", "stack name")
	cmd.Flags().StringVar(&opts.Format, "format", "", "dot or svg (default: from -o's extension, else svg; DOT when Graphviz is missing)")
	cmd.Flags().BoolVar(&opts.Flows, "flows", false, "add the firewall's tier-to-tier flows with their ports")
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "write to FILE instead of stdout")
	return cmd
}

// complete checks the flags and fills in the format.
func (o *GraphOptions) complete() error {
	if o.Stack == "" {
		return cmdutil.FlagErrorf("--stack is required")
	}
	if o.Out == "-" {
		o.Out = ""
	}
	if o.Format == "" {
		switch strings.ToLower(filepath.Ext(o.Out)) {
		case ".dot", ".gv":
			o.Format = FormatDOT
		default:
			o.Format = FormatSVG
		}
	}
	if o.Format != FormatDOT && o.Format != FormatSVG {
		return cmdutil.FlagErrorf("--format: want dot or svg, got %q", o.Format)
	}
	return nil
}

func graphRun(ctx context.Context, opts *GraphOptions) error {
	res, _, err := opts.Evaluate(opts.ProjectDir, opts.Stack)
	if err != nil {
		return err
	}
	g := graph.Build(res, graph.Options{Flows: opts.Flows})
	var src bytes.Buffer
	if err := graph.WriteDOT(&src, g); err != nil {
		return err
	}
	sum := views.GraphSummary{Stack: opts.Stack, Counts: g.Count(), Format: opts.Format, Out: opts.Out}
	data := src.Bytes()
	if opts.Format == FormatSVG {
		if opts.Renderer.Available() {
			if data, err = opts.Renderer.Render(ctx, src.Bytes(), FormatSVG); err != nil {
				return fmt.Errorf("graph %s: %w", opts.Stack, err)
			}
		} else {
			sum.Format, sum.Fallback = FormatDOT, graph.ErrNoGraphviz.Error()
			if strings.EqualFold(filepath.Ext(sum.Out), ".svg") {
				sum.Out = strings.TrimSuffix(sum.Out, filepath.Ext(sum.Out)) + ".dot"
			}
		}
	}
	if sum.Out == "" {
		if _, err := opts.IO.Out.Write(data); err != nil {
			return err
		}
	} else if err := os.WriteFile(sum.Out, data, 0o644); err != nil {
		return fmt.Errorf("graph %s: %w", opts.Stack, err)
	}
	return views.GraphHuman(opts.IO.ErrOut, sum)
}
