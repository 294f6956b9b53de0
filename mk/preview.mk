# Offline preview: warm wall time per stack (target under 2 s for production), and the spec decoder's fuzz target.
.PHONY: bench-preview fuzz-spec

bench-preview: build
	@$(GO) run ./bench/preview -plinth $(BIN)/plinth

fuzz: fuzz-spec

fuzz-spec:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./environments
