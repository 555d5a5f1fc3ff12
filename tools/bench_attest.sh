#!/usr/bin/env bash
# bench_attest.sh [DEVICES] [SECONDS] -- the cost of attestation (issue 6): a fleet of DEVICES attesting PLCs
# (default 1000) over SECONDS of traffic (default 120), written by tools/aqat_fleet.py into a scratch
# directory outside the repository, replayed three ways with the release build:
#   1. AQAT only (--no-ot), with the fleet's attestation section: datagrams verified per CPU second, the
#      rate of the attestation stage (parse, two Ed25519 verifications for an IDENTITY, one for TELEMETRY
#      and SBOM chunks, BLAKE2b chain hashes) with next to nothing else to do;
#   2. the fleet with its Modbus/S7 traffic, with the attestation section;
#   3. the same capture with a model without it: the packet rate the verifier costs.
# Prints a Markdown table for docs/PERFORMANCE.md. OTS_BENCH_RUNS (default 3) runs each, the best kept.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEVICES=${1:-1000}
SECONDS_OF_TRAFFIC=${2:-120}
RUNS=${OTS_BENCH_RUNS:-3}
PY=/usr/bin/python3
BUILD="${OTS_BUILD_ROOT:-$ROOT/build}/release"

# OTS_BENCH_BIN=PATH: measure that otsensor binary (a release build) instead of building the release preset.
if [ -n "${OTS_BENCH_BIN:-}" ]; then
  BIN=$OTS_BENCH_BIN
else
  bash "$ROOT/tools/setup.sh" release >&2
  BIN="$BUILD/otsensor"
fi
TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/otsensor-bench-attest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

echo "bench_attest: generating $DEVICES devices x $SECONDS_OF_TRAFFIC s" >&2
"$PY" "$ROOT/tools/aqat_fleet.py" "$TMP/aqat.pcap" --seed 7 --devices "$DEVICES" --duration "$SECONDS_OF_TRAFFIC" \
  --no-ot --emit-config "$TMP/attestation.yaml" >&2
"$PY" "$ROOT/tools/aqat_fleet.py" "$TMP/fleet.pcap" --seed 7 --devices "$DEVICES" --duration "$SECONDS_OF_TRAFFIC" >&2

# The example plant with the fleet's attestation section in place of its own, and without any.
"$PY" "$ROOT/tools/site_with_fleet.py" "$ROOT/config/site.example.yaml" "$TMP/with.yaml" "$TMP/attestation.yaml"
"$PY" "$ROOT/tools/site_with_fleet.py" "$ROOT/config/site.example.yaml" "$TMP/without.yaml"

best() {  # NAME CAPTURE MODEL: best of RUNS, prints "cpu wall packets attest_records"
  local name=$1 cap=$2 model=$3 i out
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$TMP/logs"
    "$BIN" -q -r "$cap" -c "$model" -l "$TMP/logs" --stats-json "$TMP/$name.$i.json"
    out="$TMP/logs/attest.log"
    echo "$(grep -vc '^#' "$out" 2>/dev/null || echo 0)" >"$TMP/$name.$i.records"
  done
  "$PY" - "$TMP" "$name" "$RUNS" <<'PYEOF'
import json, sys
tmp, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for i in range(1, runs + 1):
    s = json.load(open(f"{tmp}/{name}.{i}.json"))
    rows.append((s["cpu_seconds"], s["wall_seconds"], s["packets"], int(open(f"{tmp}/{name}.{i}.records").read())))
print(*min(rows))
PYEOF
}

read -r c1 w1 p1 r1 <<<"$(best aqat "$TMP/aqat.pcap" "$TMP/with.yaml")"
read -r c2 w2 p2 r2 <<<"$(best with "$TMP/fleet.pcap" "$TMP/with.yaml")"
read -r c3 w3 p3 r3 <<<"$(best without "$TMP/fleet.pcap" "$TMP/without.yaml")"

"$PY" - "$DEVICES" "$SECONDS_OF_TRAFFIC" "$RUNS" "$c1" "$w1" "$p1" "$r1" "$c2" "$w2" "$p2" "$r2" "$c3" "$w3" "$p3" "$r3" <<'PYEOF'
import os, platform, sys, time
d, secs, runs = sys.argv[1], sys.argv[2], sys.argv[3]
c1, w1, p1, r1, c2, w2, p2, r2, c3, w3, p3, r3 = (float(x) for x in sys.argv[4:])
cpu = "unknown CPU"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip(); break
print(f"### attestation benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
print(f"- fleet: tools/aqat_fleet.py --seed 7 --devices {d} --duration {secs}; best of {runs} runs; -w 1")
print(f"- machine: {cpu}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end\n")
print("| run | packets | attest.log records | CPU s | wall s | packets per CPU s | records per CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|")
print(f"| AQAT only, verified | {p1:,.0f} | {r1:,.0f} | {c1:.2f} | {w1:.2f} | {p1 / c1:,.0f} | {r1 / c1:,.0f} |")
print(f"| fleet with Modbus/S7, verified | {p2:,.0f} | {r2:,.0f} | {c2:.2f} | {w2:.2f} | {p2 / c2:,.0f} | {r2 / c2:,.0f} |")
print(f"| fleet with Modbus/S7, no attestation section | {p3:,.0f} | - | {c3:.2f} | {w3:.2f} | {p3 / c3:,.0f} | - |")
print(f"\nVerification costs {100 * (c2 - c3) / c3:.1f}% of the CPU time of the run without it "
      f"({1e6 * (c2 - c3) / max(r2, 1):.1f} us per datagram).")
PYEOF
