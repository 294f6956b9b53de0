# The DR drill benchmark (issue 13): from an empty plinth home, production up and the sample service deployed,
# then `plinth drill --stack production --cloud local -o json` per mode (BENCH_DRILL_MODES), printing the
# measured RTO and RPO against the targets (replica RTO < 5 min, RPO <= 5 s; backup RTO < 10 min, RPO <= the
# backup's age at T0), each step's seconds and share, and checking the teardown left 0 resources, processes,
# namespaces and links while production's URL answered throughout (bench/drill). Before the first backup
# drill the bench loads BENCH_DRILL_DATA_MB of generated tables into production's primary (0: production's own
# data only), then `plinth backup keygen`, `backup grant`, `backup run --stack production -r <recipient>` and
# `backup verify latest` (the verified backup a backup drill restores by default).
#   make bench-drill                                                   replica mode only (about 1.5 min)
#   make bench-drill BENCH_DRILL_MODES=replica,backup                  both, a small backup
#   make bench-drill BENCH_DRILL_MODES=backup BENCH_DRILL_DATA_MB=1024 the issue's 1 GB backup drill (RTO < 10 min)
# Root; creates network namespaces, so it runs under the live tests' lock (-o: the live server it starts must
# not inherit the lock). Run it under `flock -o /tmp/plinth-bench.lock` (never inside the live lock).
.PHONY: bench-drill

BENCH_DRILL_MODES ?= replica
BENCH_DRILL_ROUNDS ?= 1
BENCH_DRILL_DATA_MB ?= 0

bench-drill: build bin/pulumi
	flock -o /tmp/plinth-live.lock $(GO) run ./bench/drill -modes $(BENCH_DRILL_MODES) -rounds $(BENCH_DRILL_ROUNDS) -data-mb $(BENCH_DRILL_DATA_MB)
