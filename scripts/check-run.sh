#!/usr/bin/env bash
# Checks what the main command promises, after it ran: the run directory
# holds REPORT.md, results.json and the five charts, each well-formed, and no
# broker or Java driver JVM of the suite is left running.
# Usage: scripts/check-run.sh reports/<run-id>
set -euo pipefail
dir="${1:?usage: scripts/check-run.sh reports/<run-id>}"
fail() { echo "check-run: $*" >&2; exit 1; }
[ -d "$dir" ] || fail "$dir is not a directory"
for f in REPORT.md results.json tradeoff.svg throughput.svg latency.svg violations.svg profiles.svg cpu.svg; do
    [ -s "$dir/$f" ] || fail "$dir/$f is missing or empty"
done
python3 - "$dir" <<'PY'
import json, sys, xml.dom.minidom, pathlib
d = pathlib.Path(sys.argv[1])
r = json.loads((d / "results.json").read_text())
cells = r["cells"]
assert cells, "results.json holds no cell"
measured = [c for c in cells if c["outcome"]["status"] == "measured"]
assert measured, "no cell was measured"
for svg in d.glob("*.svg"):
    xml.dom.minidom.parse(str(svg))
report = (d / "REPORT.md").read_text()
assert r["run"]["run_id"] in report, "REPORT.md does not name the run"
print(f"check-run: {d}: {len(cells)} cells, {len(measured)} measured; REPORT.md, results.json and 5 SVGs well-formed")
PY
if pgrep -f 'kafka\.Kafka' >/dev/null || pgrep -f 'kob\.Driver' >/dev/null; then
    pgrep -af 'kafka\.Kafka|kob\.Driver' >&2 || true
    fail "a broker or Java driver JVM is still running"
fi
echo "check-run: no broker or driver JVM left"
