# Deploy engine benchmark: plinth's rolling deploy vs a sequential scp + ssh restart loop and vs parallel
# scp + ssh restart over ControlMaster connections, over the same loopback sshd hosts (4 and 12), measured
# in one run, with plinth's phases per round and each side's CPU time per round (steadier than wall-clock
# time on a loaded machine), after 3 warm-up releases (BENCH_WARM; see docs/deploy.md on the bimodal
# rounds). The last line printed is the summary.
.PHONY: bench-deploy
bench-deploy: test-deps
	@out=$$(mktemp); \
	$(GO) test -run '^$$' -bench BenchmarkDeployVsScp -benchtime 1x -timeout 20m ./bench/deploy/ | tee $$out; \
	status=$${PIPESTATUS[0]}; \
	grep '^deploy_speedup_vs_scp=' $$out | tail -1; rm -f $$out; exit $$status

# Fuzz the parser of what hosts print about their releases (untrusted input to prune/rollback decisions).
.PHONY: fuzz-deploy
fuzz: fuzz-deploy
fuzz-deploy:
	$(GO) test -run '^$$' -fuzz '^FuzzParseListing$$' -fuzztime $(FUZZTIME) ./internal/deploy/

# The fleet simulation (issue 15): the real planner, executor and session over an in-memory runner with a
# latency/bandwidth model (internal/deploy/deploysim), on a fake clock (testing/synctest): 12, 48, 200 and
# 1,000 hosts in 3 AZs, push and pull staging; prints simulated deploy time and plinth's peak heap / RSS.
.PHONY: bench-deploy-sim
bench-deploy-sim:
	BENCH_SIM_HOSTS=12,48,200,1000 $(GO) test -count=1 -run '^TestDeploySimulation$$' -v -timeout 30m ./bench/deploy/

# Pull staging over real sshd hosts on loopback (BENCH_PULL_HOSTS, default 48) and an S3 emulator: push vs
# pull, and how many copies of the artifact left plinth each way.
.PHONY: bench-deploy-pull
bench-deploy-pull: test-deps
	$(GO) test -run '^$$' -bench '^BenchmarkPullStaging$$' -benchtime 1x -timeout 20m ./bench/deploy/
