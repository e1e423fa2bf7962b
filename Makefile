# kafka-order-bench: the front door. `make bench` runs the default grid on a
# local 3-node Apache Kafka cluster and writes reports/; `make test` runs the tests.

CARGO ?= cargo

.PHONY: bench quick test lint fmt

bench:
	$(CARGO) run --release -- run

quick:
	$(CARGO) run --release -- run --quick

test:
	$(CARGO) test --release --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings
