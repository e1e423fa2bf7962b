#!/usr/bin/env bash
# make peers: kafka-order-bench side by side with rdkafka_performance and
# kafka-producer-perf-test on one local 3-node cluster (issue 7).
#
# 1. builds librdkafka's rdkafka_performance from the sources rdkafka-sys
#    ships, against the static librdkafka our build produced (same client);
# 2. fetches kafka-tools (ProducerPerformance) with mvn into the cache;
# 3. starts a private local cluster (its own KOB_CACHE_DIR under target/, so
#    a cluster someone else started with `cluster up` is never touched), or
#    uses PEERS_BOOTSTRAP when set;
# 4. runs `cargo bench --bench peers` (see benches/peers.rs for PEERS_* knobs),
#    which prints the table and writes reports/peers/peers-<utc>.md;
# 5. stops the private cluster, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARGO=${CARGO:-cargo}
WORK=$ROOT/target/peers
KAFKA_VERSION=4.1.1
mkdir -p "$WORK"

echo "== building kafka-order-bench (release)" >&2
"$CARGO" build --release --quiet
KOB=$ROOT/target/release/kafka-order-bench

echo "== building rdkafka_performance" >&2
RDSYS=$(awk '/^name = "rdkafka-sys"$/ {getline; gsub(/"/, "", $3); print $3}' Cargo.lock)
SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"rdkafka-sys-$RDSYS"/librdkafka 2>/dev/null | head -1)
LIBVER=${RDSYS#*+}
OUTDIR=""
for d in "$ROOT"/target/release/build/rdkafka-sys-*/out; do
    if [ -f "$d/src/librdkafka.a" ] && grep -q "^MKL_APP_VERSION=[[:space:]]*$LIBVER\$" "$d/Makefile.config"; then
        OUTDIR=$d
    fi
done
if [ -z "$SRC" ] || [ -z "$OUTDIR" ]; then
    echo "error: no librdkafka $LIBVER sources (rdkafka-sys-$RDSYS) or static build under target/release/build" >&2
    exit 1
fi
# The -L paths (e.g. zstd-sys) and libraries librdkafka was configured with.
LDFLAGS=$(sed -n 's/^LDFLAGS+=[[:space:]]*//p' "$OUTDIR/Makefile.config" | tr '\n' ' ')
LIBS=$(sed -n 's/^LIBS+=[[:space:]]*//p' "$OUTDIR/Makefile.config" | tr '\n' ' ')
RDKPERF=$WORK/rdkafka_performance
if [ ! -x "$RDKPERF" ] || [ "$OUTDIR/src/librdkafka.a" -nt "$RDKPERF" ]; then
    # shellcheck disable=SC2086
    cc -O2 -w -I"$OUTDIR/src" -I"$OUTDIR" -o "$RDKPERF" \
        "$SRC/examples/rdkafka_performance.c" "$OUTDIR/src/librdkafka.a" $LDFLAGS $LIBS
fi
"$RDKPERF" -h 2>&1 | grep -m1 "librdkafka version" >&2 || true

echo "== fetching kafka-tools $KAFKA_VERSION (kafka-producer-perf-test)" >&2
CACHE=${KOB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-order-bench}
TOOLS=$CACHE/kafka-tools-$KAFKA_VERSION/libs
if ! ls "$TOOLS"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    rm -rf "$TOOLS.tmp"
    mvn -q -B -f kafka/peers/pom.xml dependency:copy-dependencies -DoutputDirectory="$TOOLS.tmp"
    mv "$TOOLS.tmp" "$TOOLS"
fi

export PEERS_RDKAFKA_PERFORMANCE=$RDKPERF
export PEERS_KAFKA_TOOLS_LIBS=$TOOLS
export PEERS_LOG4J=$ROOT/kafka/peers/log4j2.properties
if [ -z "${PEERS_BOOTSTRAP:-}" ]; then
    echo "== starting a private local cluster" >&2
    PRIV=$WORK/cache
    mkdir -p "$PRIV"
    # Reuse the broker jars already fetched into the shared cache.
    if [ -d "$CACHE/kafka-$KAFKA_VERSION" ] && [ ! -e "$PRIV/kafka-$KAFKA_VERSION" ]; then
        ln -s "$CACHE/kafka-$KAFKA_VERSION" "$PRIV/kafka-$KAFKA_VERSION"
    fi
    export KOB_CACHE_DIR=$PRIV
    trap '"$KOB" cluster down >&2 || true' EXIT
    trap 'exit 130' INT TERM
    "$KOB" cluster up >&2
fi

echo "== machine: $(nproc) cores; $(uptime)" >&2
KOB_PEERS=1 "$CARGO" bench --bench peers
