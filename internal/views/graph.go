package views

import (
	"fmt"
	"io"

	"github.com/plinth-dev/plinth/internal/graph"
)

// GraphSummary is what `plinth graph` reports beside the picture it writes.
type GraphSummary struct {
	Stack  string
	Counts graph.Counts
	Format string // what was written: dot or svg
	Out    string // the file written ("" for stdout)
	// Fallback says why SVG was asked for and DOT written ("" when not).
	Fallback string
}

// GraphHuman writes the summary line (to stderr: stdout may carry the picture).
func GraphHuman(w io.Writer, s GraphSummary) error {
	dest := "stdout"
	if s.Out != "" {
		dest = s.Out
	}
	if s.Fallback != "" {
		if _, err := fmt.Fprintf(w, "note: %s: writing DOT instead of SVG (render it with `dot -Tsvg`)\n", s.Fallback); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "graph %s: %d nodes in %d components, %d edges (%d dependency, %d parent, %d flow) -> %s (%s)\n",
		s.Stack, s.Counts.Nodes, s.Counts.Clusters, s.Counts.Edges, s.Counts.ByKind[graph.Dependency],
		s.Counts.ByKind[graph.Parent], s.Counts.ByKind[graph.Flow], dest, s.Format)
	return err
}
