# The DR drill benchmark (issue 13): from an empty plinth home, production up and the sample service deployed,
# then `plinth drill --stack production --cloud local -o json` per mode (BENCH_DRILL_MODES), printing the
# measured RTO and RPO against the targets (replica RTO < 5 min, RPO <= 5 s; backup RTO < 10 min), each step's
# seconds and share, and checking the teardown left 0 resources, processes, namespaces and links while
# production's URL answered throughout (bench/drill). Root; creates network namespaces, so it runs under the
# live tests' lock (-o: the live server it starts must not inherit the lock). The backup source is not wired
# on the live local cloud yet (docs/drill.md): BENCH_DRILL_MODES=replica,backup runs it anyway and reports why.
.PHONY: bench-drill

BENCH_DRILL_MODES ?= replica
BENCH_DRILL_ROUNDS ?= 1

bench-drill: build bin/pulumi
	flock -o /tmp/plinth-live.lock $(GO) run ./bench/drill -modes $(BENCH_DRILL_MODES) -rounds $(BENCH_DRILL_ROUNDS)
