#!/usr/bin/env bash
# bench_dpdk.sh [CAPTURE] -- packets per second on the DPDK path (net_pcap replaying a capture from
# memory) beside the -r path on the same capture: -w 1 and -w 2, conn.log only and every log. net_pcap has
# no RSS, so -w 2 measures the software dispatch (the run loop copies each packet into a worker's ring);
# ports with symmetric RSS let each worker poll its own queue instead (docs/DPDK.md), at -w 1's cost per
# packet. Wall time and CPU time (and CPU ns per packet) side by side: on a shared machine only the CPU
# figures describe otsensor.
#
# CAPTURE defaults to $OTS_PERF_PCAP or /var/tmp/ots/slice1m.pcap. It is copied to /dev/shm (when there is
# room) so that both paths read from memory. Needs root (the EAL) and an otsensor built with DPDK:
# $OTS_BIN, else build/release/otsensor, else build/h-dpdk/otsensor.
# Every configuration runs $OTS_BENCH_RUNS times (default 3); the best run counts.
#
# Start-up is not packet work: the EAL takes most of a second (TSC calibration, memory, the mempool). It is
# measured on a one-packet capture for each path and subtracted ("net" columns); the raw figures are beside.
# Prints a Markdown table for docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${OTS_BENCH_RUNS:-3}
BIN=${OTS_BIN:-}
if [ -z "$BIN" ]; then
  for b in "$ROOT/build/release/otsensor" "$ROOT/build/h-dpdk/otsensor"; do
    [ -x "$b" ] && { BIN=$b; break; }
  done
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "bench_dpdk: no otsensor binary (set OTS_BIN)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench_dpdk: the DPDK EAL needs root" >&2; exit 1; }
command -v editcap >/dev/null || { echo "bench_dpdk: editcap (wireshark-common) is needed" >&2; exit 1; }

CAP=${1:-${OTS_PERF_PCAP:-/var/tmp/ots/slice1m.pcap}}
HOWTO="make it from the benchmark capture: ../shared/tools/make-perf-pcap.sh /var/tmp/otsensor-perf.pcap && editcap -r /var/tmp/otsensor-perf.pcap CAPTURE 1-1000000 (or give a capture as the first argument)"
[ -f "$CAP" ] || { echo "bench_dpdk: $CAP not found; ${HOWTO//CAPTURE/$CAP}" >&2; exit 1; }

BASE=/dev/shm
avail_kb=$(df -Pk "$BASE" 2>/dev/null | awk 'NR==2 {print $4}')
size_kb=$(( $(stat -c %s "$CAP") / 1024 ))
if [ -z "$avail_kb" ] || [ "$avail_kb" -lt $(( size_kb * 2 + 65536 )) ]; then BASE=${TMPDIR:-/tmp}; fi
TMP=$(mktemp -d "$BASE/otsensor-bench-dpdk.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp "$CAP" "$TMP/cap.pcap"
editcap -r "$TMP/cap.pcap" "$TMP/one.pcap" 1 >/dev/null  # the first packet: start-up cost only

eal() { echo "--no-huge --no-pci --no-shconf -l 0 --log-level=lib.eal:error --vdev=net_pcap0,rx_pcap=$1"; }

LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
run_one() {  # PATH(r|dpdk) NAME CAPTURE I ARGS...
  local path=$1 name=$2 cap=$3 i=$4; shift 4
  local js="$TMP/$path.$name.$i.json" rc=0
  rm -rf "$TMP/logs"
  if [ "$path" = r ]; then
    "$BIN" -q -r "$cap" -l "$TMP/logs" --stats-json "$js" "$@" 2>"$TMP/err" || rc=$?
  else
    "$BIN" -q --dpdk "$(eal "$cap")" -l "$TMP/logs" --stats-json "$js" "$@" 2>"$TMP/err" || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    echo "bench_dpdk: $path $name run $i failed (exit $rc):" >&2
    tail -5 "$TMP/err" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\n' "$path" "$name" "$i" "$js" >>"$RESULTS"
}

CONFIGS=("w1conn|-w 1 --logs conn" "w1|-w 1" "w2conn|-w 2 --logs conn" "w2|-w 2")
for path in r dpdk; do
  for i in $(seq 1 "$RUNS"); do
    run_one "$path" startup "$TMP/one.pcap" "$i" -w 1
  done
  for cfg in "${CONFIGS[@]}"; do
    name=${cfg%%|*}
    read -r -a args <<<"${cfg#*|}"
    for i in $(seq 1 "$RUNS"); do
      echo "bench_dpdk: $path ${args[*]} run $i" >&2
      run_one "$path" "$name" "$TMP/cap.pcap" "$i" "${args[@]}"
    done
  done
done
rm -rf "$TMP/logs"

/usr/bin/python3 - "$RESULTS" "$CAP" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$LOAD_BEFORE" "$(uptime | sed 's/.*load average: //')" <<'PYEOF'
import json, os, subprocess, sys, time

results, cap, commit, load, load_after = sys.argv[1:6]
runs = {}
for line in open(results):
    path, name, i, js = line.rstrip("\n").split("\t")
    st = json.load(open(js))
    runs.setdefault((path, name), []).append(st)
best = {k: min(v, key=lambda s: s["wall_seconds"]) for k, v in runs.items()}

def model():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"

pk = best[("r", "w1")]["packets"]
print()
print("### DPDK path (net_pcap) beside -r, %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
print()
print("- capture: `%s` (%.1f MB, %d packets), copied to memory" % (os.path.basename(cap), os.path.getsize(cap) / 1e6, pk))
print("- machine: %s, %d CPUs; load average (1, 5, 15 min) before the runs: %s; after: %s"
      % (model(), os.cpu_count(), load, load_after))
print("- commit %s; best of %d runs; start-up (one-packet capture): -r %.3f s, --dpdk %.3f s, subtracted in \"net\""
      % (commit, len(runs[("r", "w1")]), best[("r", "startup")]["wall_seconds"], best[("dpdk", "startup")]["wall_seconds"]))
print()
print()
print("On a loaded machine the wall clock measures the contention; CPU time (user + system of the whole process,")
print("start-up's CPU subtracted) measures the work: \"per CPU s\" is packets per second of one fully used core.")
print()
print("| run | path | packets | wall s | net s | packets/s (net wall) | per worker | CPU s (net) | CPU ns/packet | packets per CPU s | vs -r (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
labels = {"w1conn": "-w 1, conn.log only", "w1": "-w 1, every log", "w2conn": "-w 2, conn.log only", "w2": "-w 2, every log"}
def cpu_net(path, name):
    # The run with the least CPU: contention inflates it too (cache, migrations), never deflates it.
    st = min(runs[(path, name)], key=lambda s: s["cpu_seconds"])
    start = min(s["cpu_seconds"] for s in runs[(path, "startup")])
    return st["packets"], st["cpu_seconds"] - start

for name in ("w1conn", "w1", "w2conn", "w2"):
    per_cpu = {}
    for path in ("r", "dpdk"):
        n, c = cpu_net(path, name)
        per_cpu[path] = n / c if c > 0 else 0
    for path in ("r", "dpdk"):
        st = best[(path, name)]
        net = st["wall_seconds"] - best[(path, "startup")]["wall_seconds"]
        w = st["workers"]
        p = st["packets"] / net if net > 0 else 0
        n, c = cpu_net(path, name)
        print("| %s | %s | %d | %.3f | %.3f | %.0f | %.0f | %.2f | %.0f | %.0f | %s |" % (
            labels[name], "`-r`" if path == "r" else "`--dpdk` net_pcap", st["packets"], st["wall_seconds"], net,
            p, p / w, c, 1e9 * c / n if n else 0, per_cpu[path],
            "-" if path == "r" else "%.0f%%" % (100 * per_cpu[path] / per_cpu["r"]) if per_cpu["r"] else "-"))
PYEOF
