# Backup engine (issues 5, 14): benchmark against mariadb-dump and mydumper/myloader, and the manifest decoder fuzz target.
.PHONY: bench-backup fuzz-backup

BENCH_BACKUP_DIR ?= $(or $(TMPDIR),/tmp)/plinth-bench-backup

# Generates ~1 GiB (and a second set whose largest table holds 80% of the rows) in a real mariadbd under
# $(BENCH_BACKUP_DIR) if absent, runs every measurement, and ends with: backup_vs_dump=<r> backup_vs_pipeline=<r>
# restore_vs_client=<r> backup_vs_mydumper=<r> bigtable_backup_vs_dump=<r> pitr_restore_s=<s> pitr_lost_s=<s>
# restore_vs_myloader=<r> peak_rss_mib=<n> codec=<c>
bench-backup: build test-deps
	@$(GO) run ./bench/backup -dir $(BENCH_BACKUP_DIR) -plinth $(BIN)/plinth

fuzz: fuzz-backup

fuzz-backup:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/backup/manifest

# The binlog decoder output splitter of the point-in-time replay (internal/mysqlx/binlogsql: pure, no server).
.PHONY: fuzz-binlogsql
fuzz: fuzz-binlogsql
fuzz-binlogsql:
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./internal/mysqlx/binlogsql
