#!/usr/bin/env bash
# bench_rules.sh [CAPTURE] -- the cost of the rule engine (issue 9): otsensor's packet rate on CAPTURE with
# no rules, with the shipped set (rules/ics-default.yaml) and with 10,000 synthetic content rules that
# this script writes (8 random bytes each, seeded, spread over modbus, dnp3, enip, cip and s7comm, both
# directions: every PDU is scanned against a database of ~2,000 literals and none matches).
#
# CAPTURE defaults to /var/tmp/ots/slice1m.pcap. Environment:
#   OTS_BIN          the otsensor binary (default: build/release/otsensor, then build/h-rules/otsensor)
#   OTS_BENCH_RUNS   runs per configuration, the best is kept (default 3)
#   OTS_BENCH_ARGS   more otsensor arguments, e.g. "-w 2" or "--logs conn,notice" (default: -w 1, every log)
#   OTS_BENCH_CALLGRIND=1  also count instructions under valgrind's callgrind (one run each; the same
#                    count whatever else runs on the machine, unlike wall-clock figures). The rule set's
#                    start-up (check-config of it, also counted) is taken off. Slow: use a small capture.
# Prints a Markdown table (packets/s by wall clock, which starts after the rules are compiled, and CPU ns
# per packet without the rule set's start-up CPU, best run; start-up time as `check-config` measures it)
# for docs/PERFORMANCE.md. Scratch goes to a temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAP=${1:-/var/tmp/ots/slice1m.pcap}
HOWTO="make it from the benchmark capture: ../shared/tools/make-perf-pcap.sh /var/tmp/otsensor-perf.pcap && editcap -r /var/tmp/otsensor-perf.pcap CAPTURE 1-1000000 (or give a capture as the first argument)"
RUNS=${OTS_BENCH_RUNS:-3}
ARGS=${OTS_BENCH_ARGS:--w 1}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BIN=${OTS_BIN:-}
if [ -z "$BIN" ]; then
  for b in "$ROOT/build/release/otsensor"; do
    if [ -x "$b" ] && "$b" --help 2>/dev/null | grep -q -- --rules; then BIN=$b; break; fi
  done
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "bench_rules: no otsensor with --rules; build it or set OTS_BIN" >&2; exit 1; }
[ -f "$CAP" ] || { echo "bench_rules: capture $CAP not found; ${HOWTO//CAPTURE/$CAP}" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-bench-rules.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cat "$CAP" >/dev/null   # warm the page cache

# 10,000 synthetic content rules.
"$PY" - "$TMP/synthetic.yaml" <<'PYEOF'
import random, sys
rng = random.Random(9)
protocols = ["modbus", "dnp3", "enip", "cip", "s7comm"]
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        hexbytes = " ".join("%02x" % rng.getrandbits(8) for _ in range(8))
        f.write('- { id: %d, name: "synthetic %d", severity: low, protocol: %s, content: ["|%s|"], mitre: [T0855] }\n'
                % (2000000 + i, i, protocols[i % len(protocols)], hexbytes))
PYEOF

declare -A RULES=([none]="" [shipped]="--rules $ROOT/rules/ics-default.yaml" [synthetic]="--rules $TMP/synthetic.yaml")
declare -A COUNT=([none]=0 [shipped]=$(grep -c '^- id:' "$ROOT/rules/ics-default.yaml") [synthetic]=10000)
ORDER=(none shipped synthetic)

# Start-up: loading and compiling each set (check-config of a site model listing it).
declare -A STARTUP STARTUP_CPU
for name in shipped synthetic; do
  file=${RULES[$name]#--rules }
  printf 'site: bench\nrules: [%s]\n' "$file" >"$TMP/site-$name.yaml"
  /usr/bin/time -f "%e %U %S" -o "$TMP/check-$name.time" "$BIN" check-config "$TMP/site-$name.yaml" >"$TMP/check-$name.out"
  read -r e u s <"$TMP/check-$name.time"
  STARTUP[$name]="$e s"
  STARTUP_CPU[$name]=$("$PY" -c "print($u + $s)")
done
STARTUP[none]="-"
STARTUP_CPU[none]=0

best_json() {  # NAME: best run's stats (highest packets per wall second)
  local name=$1 best="" best_pps=0
  for i in $(seq 1 "$RUNS"); do
    local out="$TMP/logs-$name-$i" js="$TMP/$name-$i.json"
    mkdir -p "$out"
    # shellcheck disable=SC2086
    "$BIN" -q $ARGS -r "$CAP" ${RULES[$name]} -l "$out" --stats-json "$js"
    rm -rf "$out"
    local pps
    pps=$("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['packets']/d['wall_seconds'])" "$js")
    if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$pps" "$best_pps"; then
      best=$js best_pps=$pps
    fi
  done
  echo "$best"
}

echo "| rules | count | packets | best wall s | packets/s (wall) | CPU ns/packet | vs. no rules (wall) | vs. no rules (CPU) | notices | start-up (load + compile) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
base_pps="" base_cpu=""
for name in "${ORDER[@]}"; do
  js=$(best_json "$name")
  read -r packets wall cpu notices < <("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['packets'], d['wall_seconds'], d['cpu_seconds'], d['notices'])" "$js")
  pps=$("$PY" -c "print($packets/$wall)")
  # --stats-json's CPU time is the whole process's: take off the rule set's start-up (check-config's CPU).
  cpu_ns=$("$PY" -c "print(max(0.0, $cpu - ${STARTUP_CPU[$name]})*1e9/$packets)")
  [ -z "$base_pps" ] && base_pps=$pps base_cpu=$cpu_ns
  "$PY" - "$name" "${COUNT[$name]}" "$packets" "$wall" "$pps" "$cpu_ns" "$base_pps" "$base_cpu" "$notices" "${STARTUP[$name]}" <<'PYEOF'
import sys
name, count, packets, wall, pps, cpu_ns, base_pps, base_cpu, notices, startup = sys.argv[1:]
pps, cpu_ns, base_pps, base_cpu = float(pps), float(cpu_ns), float(base_pps), float(base_cpu)
rel = lambda x: "-" if name == "none" else "%+.1f%%" % (x)
print("| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |" % (
    name, f"{int(count):,}", f"{int(packets):,}", float(wall), f"{pps:,.0f}", f"{cpu_ns:,.0f}",
    rel((pps / base_pps - 1) * 100), rel((cpu_ns / base_cpu - 1) * 100), notices, startup))
PYEOF
done
echo
echo "capture: $CAP; otsensor: $BIN $ARGS; best of $RUNS runs; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)"

if [ "${OTS_BENCH_CALLGRIND:-0}" = 1 ]; then
  instr() {  # CALLGRIND-OUT: total instructions
    sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$1" | head -1
  }
  echo
  echo "| rules | instructions (packet path) | per packet | vs. no rules |"
  echo "|---|---:|---:|---:|"
  base=""
  for name in "${ORDER[@]}"; do
    mkdir -p "$TMP/cg-$name"
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg-$name.out" "$BIN" -q $ARGS -r "$CAP" ${RULES[$name]} \
      -l "$TMP/cg-$name" --stats-json "$TMP/cg-$name.json" 2>/dev/null
    total=$(instr "$TMP/cg-$name.out")
    startup=0
    if [ "$name" != none ]; then
      valgrind --tool=callgrind --callgrind-out-file="$TMP/cgs-$name.out" "$BIN" check-config "$TMP/site-$name.yaml" \
        >/dev/null 2>&1
      startup=$(instr "$TMP/cgs-$name.out")
    fi
    packets=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['packets'])" "$TMP/cg-$name.json")
    "$PY" - "$name" "$total" "$startup" "$packets" "$base" <<'PYEOF'
import sys
name, total, startup, packets, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
path = total - startup
rel = "-" if not base else "%+.1f%%" % ((path / int(base) - 1) * 100)
print("| %s | %s | %s | %s |" % (name, f"{path/1e6:,.1f} M", f"{path/packets:,.0f}", rel))
PYEOF
    [ -z "$base" ] && base=$total
  done
fi
