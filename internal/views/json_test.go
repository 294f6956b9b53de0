package views

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// Render and RenderLine are the one way a view picks its form from the --output string.
func TestRenderPicksFromTheOutputString(t *testing.T) {
	human := func(w io.Writer) error { _, err := io.WriteString(w, "human\n"); return err }
	v := map[string]any{"a": 1, "b": []int{1, 2}}
	for _, c := range []struct {
		render func(io.Writer, string, any, func(io.Writer) error) error
		lines  int
	}{{Render, 7}, {RenderLine, 1}} {
		var buf bytes.Buffer
		if err := c.render(&buf, FormatJSON, v, human); err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["a"] != 1.0 || strings.Count(buf.String(), "\n") != c.lines {
			t.Errorf("json: %q %v", buf.String(), err)
		}
		buf.Reset()
		if err := c.render(&buf, FormatHuman, v, human); err != nil || buf.String() != "human\n" {
			t.Errorf("human: %q %v", buf.String(), err)
		}
	}
}

// The deprecated bool deploy views render exactly what their --output replacements do.
func TestDeprecatedDeployViewsMatch(t *testing.T) {
	results := []DeployResult{{Action: "deploy", Stack: "s", Tier: "app", Version: "v1", Result: "ok"}}
	for _, asJSON := range []bool{false, true} {
		var a, b bytes.Buffer
		_ = RenderDeployResults(&a, asJSON, results)
		_ = DeployResults(&b, formatOf(asJSON), results)
		if a.String() != b.String() || a.Len() == 0 {
			t.Errorf("json=%v: %q vs %q", asJSON, a.String(), b.String())
		}
		a.Reset()
		b.Reset()
		_ = RenderHistory(&a, asJSON, nil)
		_ = DeployHistory(&b, formatOf(asJSON), nil)
		if a.String() != b.String() {
			t.Errorf("history json=%v: %q vs %q", asJSON, a.String(), b.String())
		}
	}
}
