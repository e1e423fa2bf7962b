# kafka-order-bench: the front door. `make bench` runs the default grid on a
# local 3-node Apache Kafka cluster and writes reports/; `make test` runs the tests.

CARGO ?= cargo

.PHONY: bench quick smoke run test test-fast lint cluster-up cluster-down

# Criterion over the default grid (workloads/default.toml): starts the local
# cluster, runs every cell, checks it, writes reports/<run-id>/ with the report.
bench:
	$(CARGO) bench --bench tradeoff

# The reduced grid, for a smoke run.
quick:
	KOB_QUICK=1 $(CARGO) bench --bench tradeoff

# The smallest grid through the main command, both clients (CI runs it):
# checks that `cargo bench` reaches a report, not what the report says.
smoke:
	KOB_WORKLOAD=workloads/smoke.toml $(CARGO) bench --bench tradeoff

# The network figures: in-flight 1, 2, 5, 10 at RTT 2 and 20 ms, with and
# without idempotence, acks=all, librdkafka and the Java client.
.PHONY: bench-network bench-faults bench-article bench-topology bench-profiles bench-partitions bench-producers bench-failover
bench-network:
	$(CARGO) run --release -- run --workload workloads/network.toml

# Faults across a round trip: a single refusal and three lasting faults
# (refusal window, leader move, timeout after append) at RTT 20 ms, acks=all,
# in-flight 1, 5, 10, idempotence off and on, librdkafka and the Java client.
bench-faults:
	$(CARGO) run --release -- run --workload workloads/faults.toml

# The article's experiment: bursts of 100 records, acks=all, retries on,
# in-flight 5 and 10, with and without a refused request, both clients.
bench-article:
	$(CARGO) run --release -- run --workload workloads/article.toml

# A client across regions from a cluster within one region: client RTT
# 20 ms, replication RTT 2 ms, acks=all, in-flight 1 to 10, both clients.
bench-topology:
	$(CARGO) run --release -- run --workload workloads/topology.toml

# The seed article's industry profiles at both ends of their ranges:
# in-flight 1 to 100, acks=all, RTT 20 ms, with and without refusals.
bench-profiles:
	$(CARGO) run --release -- run --workload workloads/profiles.toml

# Many partitions: the same cells at 1, 8 and 32 partitions per topic, both
# clients, acks=all, RTT 20 ms (three runs, three reports).
bench-partitions:
	for p in 1 8 32; do $(CARGO) run --release -- run --workload workloads/partitions.toml --partitions $$p || exit 1; done

# The production shape: 8 partitions written by 4 producers per cell (each
# its own client instance), 1,000 uniform keys (a key's partition is its
# index mod 8): the same cells as bench-partitions at 8 partitions.
bench-producers:
	$(CARGO) run --release -- run --workload workloads/partitions.toml --partitions 8 --producers 4 --keys 1000

# Repeated leader failovers (one per round) over acks and in-flight.
bench-failover:
	$(CARGO) run --release -- run --workload workloads/failover.toml

# The same grid through the CLI (per-sample statistics instead of Criterion's).
run:
	$(CARGO) run --release -- run

cluster-up:
	$(CARGO) run --release -- cluster up

cluster-down:
	$(CARGO) run --release -- cluster down

# Every test (the Java driver's own with Maven), then the benches compiled
# (not run: they need minutes and a cluster).
test:
	cd drivers/java && mvn -q -B test
	$(CARGO) test --release --no-fail-fast
	$(CARGO) bench --no-run

# The development loop: unit tests, mock-cluster, proxy, report and CLI
# tests; no Apache Kafka broker and no JVM. `make test` runs these too.
FAST_TESTS := cli_harden cli_mock_run cli_run compare_cli compose \
	cpu_attribution cpu_mock faults_mock mock_cell mock_reorder netem proxy \
	report report_cli schema_current schema_v1 shipped_files suite_mock \
	verify_keys_mock verify_mock layering error_convention
test-fast:
	$(CARGO) test --release --lib $(addprefix --test ,$(FAST_TESTS))

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --release

# librdkafka before and after an upgrade: the suite built twice (OLD_RDKAFKA /
# OLD_RDKAFKA_SYS, default the 2.3.0 bundle, against Cargo.lock's), the quick
# grid run old,new,new,old on one local cluster, then compared. Output in
# target/compare-clients/; exit 0 no regression, 1 regression, 2 bad input.
.PHONY: compare-clients
compare-clients:
	CARGO="$(CARGO)" scripts/compare-clients.sh

# Side by side with rdkafka_performance and kafka-producer-perf-test on a
# private local cluster; writes reports/peers/. See scripts/peers.sh.
.PHONY: peers
peers:
	CARGO="$(CARGO)" scripts/peers.sh

# What the suite's own path costs (the proxy at RTT 0, acks=0 backpressure,
# acks=all against the model ceiling): figures, not pass/fail. See
# benches/path_costs.rs.
.PHONY: path-costs
path-costs:
	KOB_PATH_COSTS=1 $(CARGO) bench --bench path_costs
