// Package views renders the same data for humans and for machines (--output json), Terraform-style.
package views

import (
	"encoding/json"
	"io"
)

// JSON writes v as indented JSON followed by a newline.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// JSONLine writes v as one compact JSON line (event streams for CI).
func JSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// The output formats (--output).
const (
	FormatHuman = "human"
	FormatJSON  = "json"
)

// Render is the one way a command picks its output from the --output string: v as indented JSON for
// FormatJSON, else human(w).
func Render(w io.Writer, format string, v any, human func(io.Writer) error) error {
	if format == FormatJSON {
		return JSON(w, v)
	}
	return human(w)
}

// RenderLine is Render for event streams: v as one compact JSON line for FormatJSON, else human(w).
func RenderLine(w io.Writer, format string, v any, human func(io.Writer) error) error {
	if format == FormatJSON {
		return JSONLine(w, v)
	}
	return human(w)
}
