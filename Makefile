# plinth — `make run` (offline preview of production) and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/plinth-dev/plinth/internal/cli.Version=$(VERSION)
# Fuzz time per target in CI: short and bounded.
FUZZTIME ?= 10s

.PHONY: all build run test test-deps vet fmt-check unit fuzz golden bench

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/plinth ./cmd/plinth

# The README's first command: evaluate production with Pulumi's mock engine (no cloud, no credentials).
run: build
	$(BIN)/plinth preview --offline --stack production

test-deps:
	./scripts/install-test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 40m ./...

# Rewrites golden files (plans, resource counts, retention decisions).
golden:
	$(GO) test ./... -update

test: test-deps fmt-check vet unit fuzz

# Per-area make fragments (fuzz targets, benchmarks) live beside this file.
-include mk/*.mk
