# plinth — on a fresh machine `make run` (the main job: up staging through the real Pulumi engine on the
# simulated local cloud) and `make test` do all set-up; `make preview` is the quick offline look.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/plinth-dev/plinth/internal/cli.Version=$(VERSION)
# Fuzz budget per target in CI: short and bounded.
# Fuzz budgets are execution counts, never durations: a duration -fuzztime races Go's fuzz coordinator
# (golang/go#75804, unfixed in go1.26) and fails with a bare "context deadline exceeded" and no crasher.
FUZZTIME ?= 200000x

.PHONY: all build run preview test test-deps vet fmt-check unit fuzz golden bench

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/plinth ./cmd/plinth

# Quick: evaluate production with Pulumi's mock engine (no cloud, no credentials, no Pulumi CLI).
preview: build
	$(BIN)/plinth preview --offline --stack production

# The main job: provision staging through the real Pulumi engine against the local cloud (no credentials),
# then deploy the sample service (examples/webservice, version = git describe) to its app tier through the
# published bastion, as an operator would: no inventory, key or known_hosts to pass. State goes to
# $(PLINTH_HOME) (default: the user config dir); run it twice and nothing changes (up: no changes; deploy:
# unchanged, 0 bytes). As root the local cloud is live (hosts, firewall, HTTPS load balancer on 127.0.0.1);
# elsewhere `up` says why in one line, keeps the bookkeeping cloud, and the deploy is skipped.
run: build bin/pulumi
	$(BIN)/plinth up --stack staging --cloud local
	@url=$$($(BIN)/plinth local status --stack staging | awk '$$1 == "url:" {print $$2}'); \
	if [ -z "$$url" ] || [ "$$url" = "-" ]; then echo "The local cloud is not live here: nothing to deploy to (see the note above)."; exit 0; fi; \
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o $(BIN)/webservice ./examples/webservice && \
	$(BIN)/plinth deploy --stack staging --cloud local --tier app --artifact $(BIN)/webservice --version $(VERSION) -m "make run" && \
	ca=$$($(BIN)/plinth local status --stack staging | awk '$$1 == "CA" && $$2 == "file:" {print $$3}') && \
	echo && $(BIN)/plinth local status --stack staging && echo && \
	echo "The sample service $(VERSION) answers at $$url (CA file: $$ca):" && \
	echo "  curl --cacert $$ca $$url/health" && \
	echo "  $$(curl -sS --max-time 15 --cacert $$ca $$url/health)" && \
	echo "  (database: a write to the primary read back from databaseRead's server; cache: a round trip over TLS; as the app user plinth_app, secrets resolved at start)" && \
	echo "Next:" && \
	echo "  $(BIN)/plinth deploy --stack staging --tier app --artifact $(BIN)/webservice --version V   (after: $(GO) build -ldflags '-X main.version=V' -o $(BIN)/webservice ./examples/webservice)" && \
	echo "  $(BIN)/plinth backup grant --stack staging; $(BIN)/plinth backup keygen --out restore.key; $(BIN)/plinth backup run --stack staging -r <the age1... key keygen printed>" && \
	echo "  $(BIN)/plinth local status -o json" && \
	echo "  $(BIN)/plinth destroy --stack staging --cloud local --yes   (stops every live process)"

test-deps:
	./scripts/install-test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Tests never reach the EC2 metadata address (169.254.169.254): the SDK's credential chain would try it.
unit:
	AWS_EC2_METADATA_DISABLED=true $(GO) test -count=1 -timeout 40m ./...

# Rewrites golden files (plans, resource counts, retention decisions).
golden:
	$(GO) test ./... -update

test: test-deps fmt-check vet unit fuzz

# Per-area make fragments (fuzz targets, benchmarks) live beside this file.
-include mk/*.mk
