# The live data tier (issue 12), root, Debian's servers (make test-deps). Two parts, each under the live
# tests' lock for its own run only (-o: a live server started inside must not inherit the lock):
#   1. BenchmarkLocalData (internal/localcloud/live): replica lag under steady writes, the DR replica's
#      catch-up after 100k writes, the four databases' RSS;
#   2. bench/localdata: production from empty through the real binary: the whole platform's memory by pid
#      tree and kind (target < 2 GiB RSS), then `plinth backup run --stack production --cloud local` of a
#      ~1 GB database through the published bastion against mariadb-dump, the zstd|openssl pipeline and
#      mydumper over an SSH tunnel through the same bastion (medians of BENCH_LOCAL_DATA_ROUNDS rounds).
# The load average is printed at the start, each round and the end: the machine is shared.
.PHONY: bench-local-data bench-local-data-lag bench-local-data-backup

BENCH_LOCAL_DATA_ROUNDS ?= 3
BENCH_LOCAL_DATA_ROWS ?= 1600000

bench-local-data: bench-local-data-lag bench-local-data-backup

bench-local-data-lag:
	flock -o /tmp/plinth-live.lock $(GO) test -count=1 -run '^$$' -bench '^BenchmarkLocalData$$' -benchtime 1x -timeout 20m ./internal/localcloud/live

bench-local-data-backup: build bin/pulumi
	$(GO) build -o $(BIN)/bench-localdata ./bench/localdata
	flock -o /tmp/plinth-live.lock $(BIN)/bench-localdata -rounds $(BENCH_LOCAL_DATA_ROUNDS) -rows $(BENCH_LOCAL_DATA_ROWS)
