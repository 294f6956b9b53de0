//go:build tools

// Package tools pins github.com/rhysd/actionlint, the linter `make lint-workflows` runs over the GitHub
// Actions workflows in examples/ci (its own module, so the linter's dependencies stay out of plinth's go.mod).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
