#!/usr/bin/env bash
# The Java driver's send path against kafka-producer-perf-test (issue 14):
# the same cell, client version and broker, fresh JVM per trial, trials
# interleaved A B B A … so drift lands on both tools alike.
#
# Cell: max.in.flight 5, acks=all, idempotence on, linger.ms 5, batch.size
# 16384, 1024-byte records, 1 partition (RF 3, min.insync 2), no compression.
# Both tools time one continuous run from just before the first send to the
# last acknowledgement (the driver: one round, no warm-up, one window of N
# records; perf-test: its own total). Prints each trial and the ratio of
# medians (target >= 0.95).
#
# Knobs: RECORDS (default 200000), PAIRS (default 3, i.e. 6 runs per tool
# in ABBA order), JAVA_BOOTSTRAP (use a running cluster instead of a
# private one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARGO=${CARGO:-cargo}
KAFKA_VERSION=4.1.1
RECORDS=${RECORDS:-200000}
PAIRS=${PAIRS:-3}
WORK=${CARGO_TARGET_DIR:-$ROOT/target}/java-vs-perf
mkdir -p "$WORK"
CACHE=${KOB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-order-bench}

echo "== building the Java driver (kafka-clients $KAFKA_VERSION)" >&2
(cd drivers/java && mvn -q -B -DskipTests -Dkafka.version=$KAFKA_VERSION package dependency:build-classpath -Dmdep.outputFile=classpath.txt)
DRIVER_CP=$ROOT/drivers/java/target/kob-java-driver.jar:$(cat drivers/java/classpath.txt)

echo "== fetching kafka-tools $KAFKA_VERSION (kafka-producer-perf-test)" >&2
TOOLS=$CACHE/kafka-tools-$KAFKA_VERSION/libs
if ! ls "$TOOLS"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    rm -rf "$TOOLS.tmp"
    mvn -q -B -f kafka/peers/pom.xml dependency:copy-dependencies -DoutputDirectory="$TOOLS.tmp"
    mv "$TOOLS.tmp" "$TOOLS"
fi
LOG4J=$ROOT/kafka/peers/log4j2.properties

if [ -z "${JAVA_BOOTSTRAP:-}" ]; then
    echo "== starting a private local cluster" >&2
    "$CARGO" build --release --quiet --bin kafka-order-bench
    KOB=${CARGO_TARGET_DIR:-$ROOT/target}/release/kafka-order-bench
    PRIV=$WORK/cache
    mkdir -p "$PRIV"
    if [ -d "$CACHE/kafka-$KAFKA_VERSION" ] && [ ! -e "$PRIV/kafka-$KAFKA_VERSION" ]; then
        ln -s "$CACHE/kafka-$KAFKA_VERSION" "$PRIV/kafka-$KAFKA_VERSION"
    fi
    export KOB_CACHE_DIR=$PRIV
    trap '"$KOB" cluster down >&2 || true' EXIT
    trap 'exit 130' INT TERM
    JAVA_BOOTSTRAP=$("$KOB" cluster up | sed -n 's/^bootstrap.servers=//p' | tail -1)
fi
echo "== bootstrap.servers=$JAVA_BOOTSTRAP; machine: $(nproc) cores; $(uptime)" >&2

PROPS=(acks=all enable.idempotence=true max.in.flight.requests.per.connection=5
       linger.ms=5 batch.size=16384 compression.type=none delivery.timeout.ms=120000)

new_topic() {
    java -Dlog4j2.configurationFile="$LOG4J" -cp "$TOOLS/*" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$JAVA_BOOTSTRAP" --create --topic "$1" --partitions 1 \
        --replication-factor 3 --config min.insync.replicas=2 >/dev/null
}

perf_test() {
    local topic=kob-javaperf-$1
    new_topic "$topic"
    java -Xmx1g -Dlog4j2.configurationFile="$LOG4J" -cp "$TOOLS/*" org.apache.kafka.tools.ProducerPerformance \
        --topic "$topic" --num-records "$RECORDS" --record-size 1024 --throughput -1 \
        --producer-props bootstrap.servers="$JAVA_BOOTSTRAP" "${PROPS[@]}" \
        | grep 'records sent' | tail -1 | sed 's/.*sent, \([0-9.]*\) records\/sec.*/\1/'
}

driver() {
    local topic=kob-javadriver-$1
    new_topic "$topic"
    local cfg="\"bootstrap.servers\":\"$JAVA_BOOTSTRAP\""
    for p in "${PROPS[@]}"; do cfg="$cfg,\"${p%%=*}\":\"${p#*=}\""; done
    printf '%s\n' \
        "{\"op\":\"create\",\"topic\":\"$topic\",\"partitions\":1,\"record_bytes\":1024,\"run_tag\":$1,\"config\":{$cfg}}" \
        "{\"op\":\"round\",\"warmup_records\":0,\"windows\":1,\"records_per_window\":$RECORDS,\"tail_records\":0}" \
        '{"op":"finish"}' \
        | java -Xmx1g -cp "$DRIVER_CP" kob.Driver 2>/dev/null \
        | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "rejected" in m or "error" in m:
        sys.exit("driver: " + line.strip())
    if "round" in m:
        w = m["round"]["windows"]
        print("%.1f" % (sum(x["records"] for x in w) / (sum(x["elapsed_ns"] for x in w) / 1e9)))
'
}

A=() B=() n=0
for ((i = 0; i < PAIRS; i++)); do
    # A B B A: each tool goes first as often as second.
    for tool in perf driver driver perf; do
        n=$((n + 1))
        if [ "$tool" = perf ]; then
            r=$(perf_test "$n"); A+=("$r")
        else
            r=$(driver "$n"); B+=("$r")
        fi
        echo "trial $((i + 1)) $tool: $r records/s" >&2
    done
done
python3 - "${A[*]}" "${B[*]}" <<'PY'
import statistics as s, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
def show(name, v):
    print(f"{name}: median {s.median(v):,.0f} records/s, min {min(v):,.0f}, max {max(v):,.0f} (n={len(v)})")
show("kafka-producer-perf-test", a)
show("kob Java driver         ", b)
print(f"ratio driver / perf-test (medians): {s.median(b) / s.median(a):.3f}")
PY
