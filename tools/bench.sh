#!/usr/bin/env bash
# bench.sh [CAPTURE] -- throughput and memory of otsensor on one capture, against the libpcap floor.
#
# CAPTURE defaults to $OTS_PERF_PCAP or /var/tmp/otsensor-perf.pcap, which is built by
# ../shared/tools/make-perf-pcap.sh when missing (size: $OTS_PERF_SIZE_MB, default that script's).
# Builds the release preset, then runs (best of $OTS_BENCH_RUNS, default 3):
#   otsensor-pcap-floor CAPTURE                                   libpcap with an empty callback
#   otsensor -r CAPTURE -w 1 --logs conn                           one worker, conn.log only
#   otsensor -r CAPTURE -w 1                                       one worker, every log
#   otsensor -r CAPTURE -w 2 --logs conn / -w 2                    two workers, the same two ways
#   otsensor -r CAPTURE -w 1 --inline-worker                     (only when OTS_BENCH_CONFIGS names w1inline)
# each under /usr/bin/time -v (peak RSS), and prints a Markdown table for docs/PERFORMANCE.md, with the load
# average before and after (wall-clock figures mean little when other builds share the cores).
# Logs and scratch go to a temporary directory outside the repository, removed at exit.
#
# Environment:
#   OTS_BENCH_BIN=DIR        measure the otsensor and otsensor-pcap-floor in DIR instead of building here
#   OTS_BENCH_RUNS=N         runs per configuration, the best is kept (default 3)
#   OTS_BENCH_CONFIGS=LIST   the otsensor configurations to run, by name: w1conn w1conninline w1 w1inline
#                            w2conn w2 (default: all but w1inline). The floor always runs.
#   OTS_BENCH_CALLGRIND=N    also count instructions under valgrind's callgrind on the first N packets of
#                            CAPTURE (cut with editcap -r), the floor and each configuration once: the same
#                            count whatever else runs on the machine. Slow (about 50x): keep N small.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${OTS_SHARED_DIR:-$ROOT/../shared}
RUNS=${OTS_BENCH_RUNS:-3}
PY=/usr/bin/python3
BUILD="${OTS_BUILD_ROOT:-$ROOT/build}/release"

# OTS_BENCH_BIN=DIR: measure the otsensor and otsensor-pcap-floor in DIR (a release build, e.g. a clean
# clone's) instead of building the release preset here.
if [ -n "${OTS_BENCH_BIN:-}" ]; then
  BUILD=$OTS_BENCH_BIN
else
  bash "$ROOT/tools/setup.sh" release >&2
fi
BIN="$BUILD/otsensor"
FLOOR="$BUILD/otsensor-pcap-floor"
[ -x "$BIN" ] || { echo "bench: $BIN was not built" >&2; exit 1; }
[ -x "$FLOOR" ] || { echo "bench: $FLOOR was not built (is add_subdirectory(tools) in CMakeLists.txt?)" >&2; exit 1; }

CAP=${1:-${OTS_PERF_PCAP:-/var/tmp/otsensor-perf.pcap}}
if [ ! -f "$CAP" ]; then
  if [ $# -ge 1 ]; then echo "bench: $CAP not found" >&2; exit 1; fi
  maker="$SHARED/tools/make-perf-pcap.sh"
  if [ ! -f "$maker" ]; then
    echo "bench: no capture at $CAP and ../shared (with tools/make-perf-pcap.sh) is absent." >&2
    echo "       Give a capture: tools/bench.sh FILE.pcap  (e.g. from tools/gen_pcap.py many-flows)" >&2
    exit 2
  fi
  echo "bench: building the perf capture $CAP with $maker (a few minutes)" >&2
  bash "$maker" ${OTS_PERF_SIZE_MB:+-s "$OTS_PERF_SIZE_MB"} "$CAP" >&2
fi
CAP=$(cd "$(dirname "$CAP")" && pwd)/$(basename "$CAP")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cat "$CAP" >/dev/null   # warm the page cache: every run reads from memory

RESULTS="$TMP/results.tsv"   # name, run, exit, time -v output, stats json, floor output
: >"$RESULTS"

run_one() {  # NAME I CMD...: one timed run; records its files
  local name=$1 i=$2; shift 2
  local tv="$TMP/$name.$i.time" out="$TMP/$name.$i.out" js="$TMP/$name.$i.json" rc=0
  /usr/bin/time -v -o "$tv" "$@" >"$out" 2>"$TMP/$name.$i.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name run $i failed (exit $rc):" >&2
    tail -5 "$TMP/$name.$i.err" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$i" "$tv" "$out" "$js" >>"$RESULTS"
}

for i in $(seq 1 "$RUNS"); do
  echo "bench: floor run $i" >&2
  run_one floor "$i" "$FLOOR" "$CAP"
done
# name and arguments of each otsensor configuration: conn.log only (issue 2's target), then every log.
# -w 1 runs its worker on a thread of its own fed by the reading thread; "inline" reads and analyses on one.
ALL_CONFIGS=("w1conn|-w 1 --logs conn" "w1conninline|-w 1 --inline-worker --logs conn" "w1|-w 1"
             "w1inline|-w 1 --inline-worker" "w2conn|-w 2 --logs conn" "w2|-w 2")
WANT=" ${OTS_BENCH_CONFIGS:-w1conn w1conninline w1 w2conn w2} "
CONFIGS=()
for cfg in "${ALL_CONFIGS[@]}"; do
  [[ "$WANT" == *" ${cfg%%|*} "* ]] && CONFIGS+=("$cfg")
done
[ "${#CONFIGS[@]}" -gt 0 ] || { echo "bench: OTS_BENCH_CONFIGS names no configuration ($WANT)" >&2; exit 2; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for cfg in "${CONFIGS[@]}"; do
  name=${cfg%%|*}
  read -r -a args <<<"${cfg#*|}"
  for i in $(seq 1 "$RUNS"); do
    echo "bench: otsensor ${args[*]} run $i" >&2
    rm -rf "$TMP/logs"
    run_one "$name" "$i" "$BIN" -r "$CAP" -l "$TMP/logs" "${args[@]}" --stats-json "$TMP/$name.$i.json"
  done
done
rm -rf "$TMP/logs"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$RESULTS" "$CAP" "$(git -C "${OTS_BENCH_BIN:-$ROOT}" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$(git -C "${OTS_BENCH_BIN:-$ROOT}" status --porcelain --untracked-files=no 2>/dev/null | head -1)" \
  "$LOAD_BEFORE" "$LOAD_AFTER" <<'PYEOF'
import json, os, re, subprocess, sys, time

results, cap, commit, dirty, load_before, load_after = sys.argv[1:7]

def time_v(path):
    """wall seconds and peak RSS (kB) from /usr/bin/time -v."""
    txt = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt).group(1))
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", txt)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return wall, rss

runs = {}
for line in open(results):
    name, i, tv, out, js = line.rstrip("\n").split("\t")
    wall, rss = time_v(tv)
    r = {"rss_kb": rss, "wall": wall}
    if name == "floor":
        f = dict(zip(*[iter(open(out).read().split())] * 2))
        r.update(packets=int(f["packets"]), seconds=float(f["seconds"]))
    else:
        st = json.load(open(js))
        r.update(packets=int(st["packets"]), seconds=float(st.get("wall_seconds") or wall), stats=st)
    runs.setdefault(name, []).append(r)

best = {name: min(rs, key=lambda r: r["seconds"]) for name, rs in runs.items()}
floor_pps = best["floor"]["packets"] / best["floor"]["seconds"]

def lscpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"

mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
size = os.path.getsize(cap)
n = len(runs["floor"])
print()
print("### otsensor benchmark, %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
print()
print("- capture: `%s` (%.1f MB, %d packets)" % (os.path.basename(cap), size / 1e6, best["floor"]["packets"]))
print("- machine: %s, %s CPUs, %.1f GiB RAM" % (lscpu_model(), os.cpu_count(), mem_kb / 1048576))
print("- commit: %s%s; release preset; best of %d runs each" % (commit, " (uncommitted changes)" if dirty else "", n))
print("- load average (1, 5, 15 min) before the otsensor runs: %s; after: %s%s" % (
    load_before, load_after,
    " -- above 1 on %d CPUs: other work shared the cores, the wall-clock figures are pessimistic" % os.cpu_count()
    if max(float(x) for x in (load_before + " " + load_after).split()[::3]) > 1 else ""))
print()
print("| run | packets | seconds | packets/s | ns/packet | CPU s | worker CPU ns/packet | % of floor | peak RSS MB | bytes per flow |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
labels = {"floor": "libpcap floor (empty callback)", "w1conn": "otsensor -w 1, conn.log only",
          "w1conninline": "otsensor -w 1 --inline-worker, conn.log only",
          "w1": "otsensor -w 1, every log", "w1inline": "otsensor -w 1 --inline-worker, every log",
          "w2conn": "otsensor -w 2, conn.log only", "w2": "otsensor -w 2, every log"}
for name in ("floor", "w1conn", "w1conninline", "w1", "w1inline", "w2conn", "w2"):
    if name not in best:
        continue
    r = best[name]
    pps = r["packets"] / r["seconds"] if r["seconds"] > 0 else 0
    per_flow = "-"
    st = r.get("stats")
    if st and st.get("flows_peak"):
        per_flow = "%.1f" % (st["flow_memory_bytes_peak"] / st["flows_peak"])
    cpu = "%.1f" % st["cpu_seconds"] if st and "cpu_seconds" in st else "-"
    # The worker threads' own CPU time per packet: what one worker costs, whatever else runs beside it.
    wcpu = [x for x in (st or {}).get("worker_cpu_seconds") or [] if x is not None]
    worker_ns = "%.0f" % (1e9 * sum(wcpu) / r["packets"]) if wcpu and r["packets"] else "-"
    print("| %s | %d | %.3f | %.0f | %.0f | %s | %s | %.1f%% | %.1f | %s |" % (
        labels[name], r["packets"], r["seconds"], pps, 1e9 / pps if pps else 0, cpu, worker_ns,
        100 * pps / floor_pps, r["rss_kb"] / 1024, per_flow))
st = (best.get("w1") or best.get("w1inline") or {}).get("stats")
if st:
    logs = ", ".join("%s %s" % kv for kv in sorted((st.get("logs") or {}).items()))
    print()
    print("otsensor -w 1: %s flows created, %s at peak; records: %s" % (
        st.get("flows_created", "?"), st.get("flows_peak", "?"), logs or "-"))
PYEOF

# Instruction counts: independent of the load, so they compare runs taken at different moments.
CG_PACKETS=${OTS_BENCH_CALLGRIND:-0}
if [ "$CG_PACKETS" != 0 ]; then
  [[ "$CG_PACKETS" =~ ^[0-9]+$ ]] || { echo "bench: OTS_BENCH_CALLGRIND=$CG_PACKETS is not a packet count" >&2; exit 2; }
  command -v valgrind >/dev/null || { echo "bench: valgrind is missing (tools/setup.sh installs it)" >&2; exit 1; }
  command -v editcap >/dev/null || { echo "bench: editcap is missing (wireshark-common)" >&2; exit 1; }
  SLICE="$TMP/slice.pcap"
  editcap -F pcap -r "$CAP" "$SLICE" "1-$CG_PACKETS"
  instr() {  # CALLGRIND-OUT: total instructions (every thread)
    sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$1" | head -1
  }
  echo "bench: callgrind floor" >&2
  valgrind --tool=callgrind --callgrind-out-file="$TMP/cg-floor.out" "$FLOOR" "$SLICE" >"$TMP/cg-floor.txt" 2>/dev/null
  floor_instr=$(instr "$TMP/cg-floor.out")
  packets=$(awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' "$TMP/cg-floor.txt" | head -1)
  [ -n "$packets" ] || packets=$CG_PACKETS
  echo
  echo "Instructions (callgrind), the first $packets packets of \`$(basename "$CAP")\`:"
  echo
  echo "| run | instructions | per packet | vs. libpcap floor |"
  echo "|---|---:|---:|---:|"
  printf '| libpcap floor (empty callback) | %s | %s | 100%% |\n' \
    "$(awk -v t="$floor_instr" 'BEGIN { printf "%.1f M", t / 1e6 }')" \
    "$(awk -v t="$floor_instr" -v p="$packets" 'BEGIN { printf "%.0f", t / p }')"
  for cfg in "${CONFIGS[@]}"; do
    name=${cfg%%|*}
    read -r -a args <<<"${cfg#*|}"
    echo "bench: callgrind otsensor ${args[*]}" >&2
    rm -rf "$TMP/logs"
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg-$name.out" "$BIN" -r "$SLICE" -l "$TMP/logs" "${args[@]}" \
      >/dev/null 2>&1
    total=$(instr "$TMP/cg-$name.out")
    printf '| otsensor %s | %s | %s | %s |\n' "${args[*]}" \
      "$(awk -v t="$total" 'BEGIN { printf "%.1f M", t / 1e6 }')" \
      "$(awk -v t="$total" -v p="$packets" 'BEGIN { printf "%.0f", t / p }')" \
      "$(awk -v t="$total" -v f="$floor_instr" 'BEGIN { printf "%.1f%%", 100 * f / t }')"
  done
  rm -rf "$TMP/logs"
fi
