# The CI pipelines to copy (examples/ci): actionlint, pinned in its own module (tools/actionlint, built from the
# Go module proxy on a fresh machine), lints the GitHub Actions workflows; `make test` runs it. The pipeline's
# command sequence itself runs against the local cloud in examples/ci's Go test (part of `make unit`).
.PHONY: lint-workflows

lint-workflows: $(BIN)/actionlint
	$(BIN)/actionlint examples/ci/github/workflows/*.yml

$(BIN)/actionlint: tools/actionlint/go.mod tools/actionlint/go.sum
	@mkdir -p $(BIN)
	cd tools/actionlint && $(GO) build -o ../../$(BIN)/actionlint github.com/rhysd/actionlint/cmd/actionlint

test: lint-workflows
