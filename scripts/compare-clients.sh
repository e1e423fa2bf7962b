#!/usr/bin/env bash
# compare-clients.sh: "before and after a client upgrade". Builds the suite
# twice, against an older librdkafka (a scratch copy of this crate with
# rdkafka/rdkafka-sys pinned) and against the one Cargo.lock holds, runs the
# same grid with both on one cluster, and compares them with
# `kafka-order-bench compare`. See README.md, "Comparing runs and client versions".
#
# Two librdkafka versions cannot link into one binary (only one crate may link
# the native library), hence two builds in two target directories. The older
# side cannot use rdkafka's dynamic-linking either: it demands a system
# librdkafka at least as new as the bundled one.
#
# Exit status: 0 nothing regressed, 1 something regressed, 2 bad input, a
# failed build or run, or runs that are not comparable; 130 interrupted.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/compare-clients.sh          (or: make compare-clients)

Environment (all optional):
  OLD_RDKAFKA=0.37.0        rdkafka crate of the older side
  OLD_RDKAFKA_SYS=4.8.0     rdkafka-sys crate of the older side (4.8.0 bundles librdkafka 2.3.0)
  COMPARE_ORDER="old new new old"
                            run order; the i-th old run is compared with the i-th new run
  COMPARE_RUN_ARGS=--quick  arguments of every `kafka-order-bench run` (the same for both sides)
  COMPARE_NOISE=0.05        noise threshold of `compare` (0.05 = ±5%)
  COMPARE_OUT=target/compare-clients
                            builds, runs and comparisons (the old build is reused)
  COMPARE_WARMUP=1          one discarded run before the measured ones (0: none)
  COMPARE_BUILD_ONLY=1      build both sides, then stop
  KAFKA_BOOTSTRAP_SERVERS   use this cluster instead of the local one
  KOB_CACHE_DIR             where the local cluster lives (see `cluster up --help`)
  CARGO=cargo

Exit status: 0 nothing regressed, 1 a regression, 2 bad input or failure, 130 interrupted.
EOF
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) echo "compare-clients: error: unexpected argument '$1' (settings are environment variables; see --help)" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD_RDKAFKA=${OLD_RDKAFKA:-0.37.0}
OLD_RDKAFKA_SYS=${OLD_RDKAFKA_SYS:-4.8.0}
ORDER=${COMPARE_ORDER:-old new new old}
RUN_ARGS=${COMPARE_RUN_ARGS:---quick}
NOISE=${COMPARE_NOISE:-0.05}
OUT=${COMPARE_OUT:-$ROOT/target/compare-clients}
CARGO=${CARGO:-cargo}

die() {
    echo "compare-clients: error: $*" >&2
    exit 2
}
step() { printf '\n==> %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"; }
abspath() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$ROOT" "$1" ;; esac; }

# ---- checks before anything slow --------------------------------------------
need "$CARGO" "install Rust with https://rustup.rs, or set CARGO"
need tar "it copies the crate for the older build"
for v in "$OLD_RDKAFKA" "$OLD_RDKAFKA_SYS"; do
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "expected a version such as 0.37.0, got '$v' (OLD_RDKAFKA / OLD_RDKAFKA_SYS)"
done
olds=0 news=0
for side in $ORDER; do
    case $side in
    old) olds=$((olds + 1)) ;;
    new) news=$((news + 1)) ;;
    *) die "COMPARE_ORDER holds '$side'; expected words 'old' and 'new', e.g. \"old new new old\"" ;;
    esac
done
((olds > 0 && olds == news)) || die "COMPARE_ORDER must hold as many 'old' as 'new' runs, at least one each (got \"$ORDER\")"
if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    need java "the local cluster runs Apache Kafka on a JVM: install a JDK 17+, or set KAFKA_BOOTSTRAP_SERVERS"
fi
OUT=$(abspath "$OUT")
mkdir -p "$OUT"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock -n 9 || die "another compare-clients is using $OUT (lock $OUT/.lock)"
fi

# ---- the new side: the crate as it is --------------------------------------
NEW_TARGET=$(abspath "${CARGO_TARGET_DIR:-target}")
NEW_BIN=$NEW_TARGET/release/kafka-order-bench
step "building the new side: rdkafka as locked in Cargo.lock"
(cd "$ROOT" && "$CARGO" build --release --bin kafka-order-bench) ||
    die "building the new side failed (cargo output above)"

# ---- the old side: a scratch copy with rdkafka pinned ----------------------
# The copy is refreshed on every run; tar keeps modification times, so cargo
# rebuilds only what changed, and librdkafka itself only when the pins change.
OLD_SRC=$OUT/old-src
OLD_TARGET=$OUT/target-old
OLD_BIN=$OLD_TARGET/release/kafka-order-bench
step "building the old side: rdkafka =$OLD_RDKAFKA, rdkafka-sys =$OLD_RDKAFKA_SYS (the first build compiles librdkafka: minutes)"
rm -rf "$OLD_SRC.tmp"
mkdir -p "$OLD_SRC.tmp"
excludes=(--exclude=./target --exclude=./reports --exclude=./.git)
for d in "$OUT" "$NEW_TARGET"; do
    if [[ $d == "$ROOT"/* ]]; then excludes+=("--exclude=./${d#"$ROOT"/}"); fi
done
tar -C "$ROOT" "${excludes[@]}" -cf - . | tar -C "$OLD_SRC.tmp" -xf -
# build.rs reruns when .git/HEAD or .git/index changes, and always when they
# are missing. Empty stand-ins with the real files' times keep the old build
# in step with the repository without rebuilding it every time; git itself
# ignores this incomplete .git and finds the real repository above.
mkdir -p "$OLD_SRC.tmp/.git"
for f in HEAD index; do
    if [[ -f $ROOT/.git/$f ]]; then touch -r "$ROOT/.git/$f" "$OLD_SRC.tmp/.git/$f"; else touch "$OLD_SRC.tmp/.git/$f"; fi
done
rm -rf "$OLD_SRC"
mv "$OLD_SRC.tmp" "$OLD_SRC"
sed -i -E \
    -e "s/^rdkafka = \\{ version = \"[^\"]*\"/rdkafka = { version = \"=$OLD_RDKAFKA\"/" \
    -e "s/^rdkafka-sys = \\{ version = \"[^\"]*\"/rdkafka-sys = { version = \"=$OLD_RDKAFKA_SYS\"/" \
    "$OLD_SRC/Cargo.toml"
grep -q "^rdkafka = { version = \"=$OLD_RDKAFKA\"" "$OLD_SRC/Cargo.toml" &&
    grep -q "^rdkafka-sys = { version = \"=$OLD_RDKAFKA_SYS\"" "$OLD_SRC/Cargo.toml" ||
    die "could not pin rdkafka in $OLD_SRC/Cargo.toml: expected lines 'rdkafka = { version = \"…\", … }' and 'rdkafka-sys = { version = \"…\", … }'"
# Reuse the lock file resolved last time when the manifest and the crate's own
# lock file are unchanged: no registry access, no rebuild.
lock_key=$(cat "$OLD_SRC/Cargo.toml" "$OLD_SRC/Cargo.lock" | cksum)
if [[ -f $OUT/old-Cargo.lock && $(cat "$OUT/old-Cargo.lock.key" 2>/dev/null) == "$lock_key" ]]; then
    cp -p "$OUT/old-Cargo.lock" "$OLD_SRC/Cargo.lock"
fi
(cd "$OLD_SRC" && CARGO_TARGET_DIR=$OLD_TARGET "$CARGO" build --release --bin kafka-order-bench) ||
    die "building against rdkafka =$OLD_RDKAFKA / rdkafka-sys =$OLD_RDKAFKA_SYS failed (cargo output above); another pair, e.g. OLD_RDKAFKA=0.38.0 OLD_RDKAFKA_SYS=4.9.0, may build"
cp -p "$OLD_SRC/Cargo.lock" "$OUT/old-Cargo.lock"
printf '%s\n' "$lock_key" >"$OUT/old-Cargo.lock.key"
locked=$(grep -A1 '^name = "rdkafka-sys"$' "$OLD_SRC/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p' || true)
echo "old side: rdkafka-sys $locked, $OLD_BIN" >&2
echo "new side: $NEW_BIN" >&2
if [[ ${COMPARE_BUILD_ONLY:-} == 1 ]]; then
    exit 0
fi

# ---- one cluster for both sides ---------------------------------------------
CLUSTER_STARTED=0
cleanup() {
    local rc=$?
    trap '' INT TERM
    if ((CLUSTER_STARTED)); then
        step "stopping the local cluster this script started"
        "$NEW_BIN" cluster down >&2 || echo "compare-clients: warning: 'kafka-order-bench cluster down' failed; run it by hand" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    step "using the cluster at KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
elif "$NEW_BIN" cluster status >/dev/null 2>&1; then
    step "a local cluster is already running: using it, and leaving it running"
else
    step "starting the local cluster (stopped again at the end)"
    CLUSTER_STARTED=1
    "$NEW_BIN" cluster up >&2 || die "'kafka-order-bench cluster up' failed (its error above)"
fi

# ---- the runs ---------------------------------------------------------------
rm -rf "$OUT/runs" "$OUT"/pair-* "$OUT/pairs.md" "$OUT/pairs.json" "$OUT/runs.txt"
if [[ ${COMPARE_WARMUP:-1} != 0 ]]; then
    # The first run on a fresh cluster is much slower (the brokers' JIT, the
    # page cache, topic creation paths): measured, it would look like a large
    # change between the first two runs.
    step "warm-up run (discarded): new side, kafka-order-bench run $RUN_ARGS"
    rc=0
    # shellcheck disable=SC2086 # RUN_ARGS is a list of arguments
    "$NEW_BIN" run $RUN_ARGS --no-report --out "$OUT/runs/0-warmup" >/dev/null || rc=$?
    ((rc == 130)) && exit 130
    ((rc == 0)) || die "the warm-up run failed with exit status $rc (its error above)"
fi
n_runs=$((olds + news))
i=0
old_results=() new_results=() run_labels=()
for side in $ORDER; do
    i=$((i + 1))
    bin=$NEW_BIN
    [[ $side == old ]] && bin=$OLD_BIN
    dir=$OUT/runs/$i-$side
    step "run $i of $n_runs: $side side, kafka-order-bench run $RUN_ARGS"
    rc=0
    # shellcheck disable=SC2086 # RUN_ARGS is a list of arguments
    "$bin" run $RUN_ARGS --out "$dir" || rc=$?
    ((rc == 130)) && exit 130
    ((rc == 0)) || die "run $i ($side side) failed with exit status $rc (its error above)"
    results=$(ls "$dir"/*/results.json 2>/dev/null | head -n 1 || true)
    [[ -n $results ]] || die "run $i ($side side) wrote no results.json under $dir"
    if [[ $side == old ]]; then old_results+=("$results"); else new_results+=("$results"); fi
    run_labels+=("$i:$side:$results")
done

# ---- compare: the k-th old run with the k-th new run --------------------------
# With the default order old,new,new,old, pair 1 runs old first and pair 2 runs
# new first: a drift of the cluster or the machine over time favours the new
# side in one pair and the old side in the other. `compare --pair` combines the
# pairs (a throughput or p99 change counts when every pair agrees; ordering and
# status regressions from any pair), and its exit status is this script's.
pair_args=()
for ((k = 0; k < olds; k++)); do pair_args+=(--pair "${old_results[k]}" "${new_results[k]}"); done
step "comparing $olds pair(s): old rdkafka $OLD_RDKAFKA (rdkafka-sys $locked) vs new"
printf '%s\n' "${run_labels[@]}" >"$OUT/runs.txt"
rc=0
"$NEW_BIN" compare "${pair_args[@]}" --out "$OUT" --noise "$NOISE" || rc=$?
((rc == 130)) && exit 130
echo "compare-clients: exit $rc; wall time $((SECONDS / 60))m $((SECONDS % 60))s; summary in $OUT/pairs.md, details in $OUT/pair-*/compare.md, runs in $OUT/runs.txt" >&2
exit "$rc"
