# The live local cloud (issue 11): benchmark of staging and production from empty to "URL answers", hosts per
# second, the platform's resident memory and a rolling deploy through the published 443 (bench/local). It
# creates network namespaces: machine-global, so it runs under the live tests' lock (-o: the live server it
# starts must not inherit the lock). Needs root and the Debian servers (make test-deps).
.PHONY: bench-local

BENCH_LOCAL_ROUNDS ?= 3

bench-local: build bin/pulumi
	flock -o /tmp/plinth-live.lock $(GO) run ./bench/local -rounds $(BENCH_LOCAL_ROUNDS)
