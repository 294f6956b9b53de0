# The live data tier (issue 12): replica lag under steady writes, the DR replica's catch-up after 100k writes,
# the four databases' RSS. Root; runs under the live lock (machine-global namespaces).
.PHONY: bench-local-data

bench-local-data:
	flock /tmp/plinth-live.lock $(GO) test -count=1 -run '^$$' -bench '^BenchmarkLocalData$$' -benchtime 1x ./internal/localcloud/live
