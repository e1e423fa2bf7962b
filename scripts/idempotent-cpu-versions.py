#!/usr/bin/env python3
"""librdkafka's idempotent-producer CPU across librdkafka versions.

The suite links the librdkafka that `rdkafka-sys` bundles (2.12.1). Python's
`confluent-kafka` wheels bundle their own librdkafka of the same version
number, so each version here is one `pip install confluent-kafka==X` in its
own virtualenv: no compiler, no change to the suite.

For each version and for idempotence off and on, one producer saturates
librdkafka's mock cluster (1 broker, `test.mock.broker.rtt` 20 ms: the round
trip the suite's RTT-20 cells emulate, without a proxy or a real broker) with
1 KiB records to one partition, `acks=all`, in-flight 5, linger 5 ms, for
a few seconds. It
prints records acknowledged per second and the CPU of librdkafka's own
threads (`rdk:*`, from /proc/self/task/*/stat; the mock broker's thread
`rdk:mock` included, under 0.01 core), apart from the Python thread that
produces, in cores and in µs per record.

    python3 scripts/idempotent-cpu-versions.py [VERSION ...]

Default versions: 2.12.1 (the suite's), 2.14.2, 2.16.1 (the newest on PyPI
on 2026-12-05; it bundles librdkafka 2.16.0). Virtualenvs go to
$KOB_CACHE_DIR/ck-venvs (default
~/.cache/kafka-order-bench/ck-venvs). Run it on a quiet machine: the figures
are CPU time.
"""
import os
import subprocess
import sys
import textwrap

SECONDS = 6.0
WARMUP = 1.0

# The measurement, run inside each version's virtualenv.
CHILD = textwrap.dedent(
    r"""
    import json, os, sys, time
    import confluent_kafka as ck

    TICK = os.sysconf("SC_CLK_TCK")

    def threads():
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    s = f.read()
            except FileNotFoundError:
                continue
            comm = s[s.index("(") + 1 : s.rindex(")")]
            rest = s[s.rindex(")") + 2 :].split()
            out[(tid, comm)] = (int(rest[11]) + int(rest[12])) / TICK
        return out

    def cell(idem, seconds, warmup):
        acked = [0]
        def cb(err, msg):
            if err is None:
                acked[0] += 1
        p = ck.Producer({
            "test.mock.num.brokers": 1,
            "test.mock.broker.rtt": 20,
            "acks": "all",
            "enable.idempotence": idem,
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 5,
            "batch.size": 16384,
            "queue.buffering.max.messages": 2000,
        })
        value = b"x" * 1024
        def pump(until):
            while time.monotonic() < until:
                try:
                    p.produce("t", value, partition=0, on_delivery=cb)
                except BufferError:
                    p.poll(0.001)
                p.poll(0)
        pump(time.monotonic() + warmup)
        t0, n0, c0 = time.monotonic(), acked[0], threads()
        pump(t0 + seconds)
        t1, n1, c1 = time.monotonic(), acked[0], threads()
        p.flush(30)
        el = t1 - t0
        per = {}
        for k, v in c1.items():
            per[k[1]] = per.get(k[1], 0.0) + v - c0.get(k, 0.0)
        rdk = sum(v for k, v in per.items() if k.startswith("rdk:"))
        n = n1 - n0
        busiest = max(((v, k) for k, v in per.items() if k.startswith("rdk:")), default=(0, "-"))
        return {
            "idempotence": idem,
            "records_per_sec": n / el,
            "rdk_cores": rdk / el,
            "rdk_cpu_us_per_record": rdk * 1e6 / max(n, 1),
            "busiest_thread": busiest[1],
            "busiest_cores": busiest[0] / el,
            "python_cores": per.get("python3", 0.0) / el,
        }

    seconds, warmup = float(sys.argv[1]), float(sys.argv[2])
    print(json.dumps({
        "librdkafka": ck.libversion()[0],
        "cells": [cell(False, seconds, warmup), cell(True, seconds, warmup)],
    }))
    """
)


def venv_python(version: str) -> str:
    cache = os.environ.get(
        "KOB_CACHE_DIR", os.path.expanduser("~/.cache/kafka-order-bench")
    )
    root = os.path.join(cache, "ck-venvs", version)
    py = os.path.join(root, "bin", "python3")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", root], check=True)
        subprocess.run(
            [py, "-m", "pip", "install", "--quiet", f"confluent-kafka=={version}"],
            check=True,
        )
    return py


def main() -> int:
    versions = sys.argv[1:] or ["2.12.1", "2.14.2", "2.16.1"]
    print(
        "| librdkafka | idempotence | records/s | rdk:* cores | µs CPU/record | busiest thread (cores) |"
    )
    print("|---|---|---:|---:|---:|---|")
    import json

    for v in versions:
        try:
            py = venv_python(v)
        except subprocess.CalledProcessError as e:
            print(f"confluent-kafka {v}: could not install ({e})", file=sys.stderr)
            return 2
        out = subprocess.run(
            [py, "-c", CHILD, str(SECONDS), str(WARMUP)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        for c in r["cells"]:
            print(
                f"| {r['librdkafka']} | {'on' if c['idempotence'] else 'off'} "
                f"| {c['records_per_sec']:,.0f} | {c['rdk_cores']:.2f} "
                f"| {c['rdk_cpu_us_per_record']:,.0f} "
                f"| {c['busiest_thread']} ({c['busiest_cores']:.2f}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
