package inventory

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// File is a Source reading a YAML inventory file.
type File struct{ Path string }

// Inventory reads and validates the file. A stack named in the file must match stack (when both are set).
func (f File) Inventory(_ context.Context, stack string) (*Inventory, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", f.Path, err)
	}
	if stack != "" && inv.Stack != "" && inv.Stack != stack {
		return nil, fmt.Errorf("inventory %s: is for stack %q, not %q", f.Path, inv.Stack, stack)
	}
	if inv.Stack == "" {
		inv.Stack = stack
	}
	return inv, nil
}

// Parse decodes a YAML inventory (unknown fields are errors) and normalizes it.
func Parse(data []byte) (*Inventory, error) {
	var inv Inventory
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&inv); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := inv.Normalize(); err != nil {
		return nil, err
	}
	return &inv, nil
}
