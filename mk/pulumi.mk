# The pinned Pulumi CLI plinth drives through the Automation API, built from the module proxy into bin/.
# Built once (cold: ~7 min module download + ~10 min build, 2 GiB) and reused when present; delete
# bin/pulumi to rebuild. The version stamp is required: the Automation API refuses an unstamped CLI.
PULUMI_VERSION := v3.259.0
PULUMI_LDFLAGS := -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(PULUMI_VERSION)

.PHONY: pulumi bench-provision

pulumi: bin/pulumi

bin/pulumi:
	@mkdir -p $(BIN)
	cd tools/pulumi && $(GO) build -ldflags '$(PULUMI_LDFLAGS)' -o ../../$(BIN)/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
	$(BIN)/pulumi version

all: bin/pulumi
unit: bin/pulumi

# Wall time of `plinth up --stack production --cloud local` from empty, of a no-change preview, and the
# per-resource overhead (bench/provision).
bench-provision: build bin/pulumi
	$(GO) run ./bench/provision
