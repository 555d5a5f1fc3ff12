#!/usr/bin/env bash
# bench_policy.sh [CAPTURE] -- the cost of the zone/conduit policy: otsensor's throughput on one capture
# without a site model and with a generated 50-zone, 200-conduit model that covers every address of the
# capture (issue 5: within 5% of the throughput without a model).
#
# CAPTURE defaults to $OTS_PERF_PCAP or /var/tmp/ots/perf.pcap (built by ../shared/tools/make-perf-pcap.sh;
# this script does not build it). Steps:
#   1. one pass of otsensor -r CAPTURE --logs conn collects the capture's addresses and zone pairs;
#   2. the model: the addresses' /16 (IPv4) and /48 (IPv6) networks dealt over 50 zones, busiest first;
#      200 conduits, the busiest zone pairs first, each with tcp/udp rules for the pair's common ports
#      and Modbus (read-only), DNP3, S7comm and EtherNet/IP rules, so that operations are checked too;
#      flows between zones without a conduit become OT::No_Conduit notices;
#   3. best of $OTS_BENCH_RUNS (default 3) runs each, alternating: otsensor -r CAPTURE -w $OTS_BENCH_WORKERS
#      (default 1), every log, without and with -c MODEL; prints packets/s of both and the difference.
# The binary is $OTS_BIN, or the release preset's (built by tools/setup.sh release). Logs and the model go
# to a temporary directory, removed at exit ($OTS_BENCH_KEEP=1 keeps it and prints where).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${OTS_BENCH_RUNS:-3}
WORKERS=${OTS_BENCH_WORKERS:-1}
PY=/usr/bin/python3

if [ -n "${OTS_BIN:-}" ]; then
  BIN=$OTS_BIN
else
  bash "$ROOT/tools/setup.sh" release >&2
  BIN="${OTS_BUILD_ROOT:-$ROOT/build}/release/otsensor"
fi
[ -x "$BIN" ] || { echo "bench_policy: $BIN is not an executable" >&2; exit 1; }

CAP=${1:-${OTS_PERF_PCAP:-/var/tmp/ots/perf.pcap}}
if [ ! -f "$CAP" ]; then
  echo "bench_policy: $CAP not found; build it with ../shared/tools/make-perf-pcap.sh, or give a capture" >&2
  exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-bench-policy.XXXXXX")
if [ "${OTS_BENCH_KEEP:-0}" = 1 ]; then
  echo "bench_policy: keeping $TMP" >&2
else
  trap 'rm -rf "$TMP"' EXIT
fi
cat "$CAP" >/dev/null   # warm the page cache: every run reads from memory

echo "bench_policy: collecting the capture's addresses" >&2
"$BIN" -q -r "$CAP" -w "$WORKERS" --logs conn -l "$TMP/addresses"
MODEL="$TMP/site-50x200.yaml"
"$PY" - "$TMP/addresses/conn.log" "$MODEL" <<'PYEOF'
import collections, ipaddress, sys

conn_log, out = sys.argv[1:3]
ZONES, CONDUITS = 50, 200
ICS_PORTS = {502, 20000, 102, 44818, 2222, 62443}

def network(a):
    ip = ipaddress.ip_address(a)
    return ipaddress.ip_network("%s/%d" % (a, 16 if ip.version == 4 else 48), strict=False)

fields, flows = [], []
with open(conn_log) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            continue
        if line.startswith("#"):
            continue
        row = dict(zip(fields, line.split("\t")))
        flows.append((row["id.orig_h"], row["id.resp_h"], row["proto"], row["id.resp_p"]))

# Networks by traffic, dealt round-robin over the zones (each network in exactly one zone). Broadcast
# and multicast responders are nobody's: they need no network.
weight = collections.Counter()
for o, r, _, _ in flows:
    for a in (o, r):
        ip = ipaddress.ip_address(a)
        if not (ip.is_multicast or a == "255.255.255.255"):
            weight[network(a)] += 1
nets = [n for n, _ in sorted(weight.items(), key=lambda kv: (-kv[1], str(kv[0])))]
zone_nets = [[] for _ in range(ZONES)]
zone_of = {}
for i, n in enumerate(nets):
    zone_nets[i % ZONES].append(n)
    zone_of[n] = i % ZONES

# Conduits: the busiest zone pairs, then the remaining pairs in a fixed order, up to CONDUITS.
pair_flows = collections.Counter()
pair_ports = collections.defaultdict(collections.Counter)
for o, r, proto, port in flows:
    try:
        zo, zr = zone_of[network(o)], zone_of[network(r)]
    except KeyError:
        continue
    if zo == zr:
        continue
    key = (min(zo, zr), max(zo, zr))
    pair_flows[key] += 1
    if proto in ("tcp", "udp") and port != "-":
        pair_ports[key][(proto, int(port))] += 1
pairs = [p for p, _ in sorted(pair_flows.items(), key=lambda kv: (-kv[1], kv[0]))][:CONDUITS]
for a in range(ZONES):
    for b in range(a + 1, ZONES):
        if len(pairs) >= CONDUITS:
            break
        if (a, b) not in pair_flows:
            pairs.append((a, b))

with open(out, "w") as f:
    f.write('site: "benchmark: %d zones, %d conduits covering %d networks"\n' % (ZONES, len(pairs), len(nets)))
    f.write("defaults:\n  intra_zone: allow\n  unknown_hosts: alert\n  notice_suppress_s: 3600\n")
    f.write("zones:\n")
    for z in range(ZONES):
        # A zone needs a network: zones the capture leaves empty get one of the documentation ranges.
        ns = [str(n) for n in zone_nets[z]] or ["198.18.%d.0/24" % z]
        f.write("  - name: z%02d\n    security_level: %d\n    networks: [%s]\n" % (z, 1 + z % 4, ", ".join(ns)))
    f.write("conduits:\n")
    for a, b in pairs:
        f.write("  - name: z%02d-z%02d\n    zones: [z%02d, z%02d]\n    allow:\n" % (a, b, a, b))
        # Transport rules for the pair's common ports, but not the ICS ports: a tcp rule would admit an
        # ICS flow with all its operations, and the benchmark is to check them.
        common = [pp for pp, _ in sorted(pair_ports[(a, b)].items(), key=lambda kv: (-kv[1], kv[0]))
                  if pp[1] not in ICS_PORTS]
        for proto, port in common[:8]:
            f.write("      - {protocol: %s, ports: [%d]}\n" % (proto, port))
        f.write("      - {protocol: modbus, from: z%02d, read_only: true}\n" % a)
        f.write("      - {protocol: dnp3, from: z%02d, operations: [read, write, select, operate, direct_operate]}\n" % a)
        f.write("      - {protocol: s7comm, from: z%02d, operations: [setup_communication, read_var, write_var, read_szl]}\n" % a)
        f.write("      - {protocol: enip, from: z%02d, read_only: true}\n" % a)
        f.write("      - {protocol: icmp}\n")
print("bench_policy: model with %d zones, %d conduits, %d networks (%d flows seen)" % (
    ZONES, len(pairs), len(nets), len(flows)), file=sys.stderr)
PYEOF
"$BIN" check-config "$MODEL" >/dev/null

RESULTS="$TMP/results.tsv"
: >"$RESULTS"
for i in $(seq 1 "$RUNS"); do
  for name in plain model; do
    args=(-r "$CAP" -w "$WORKERS" -l "$TMP/logs" --stats-json "$TMP/$name.$i.json")
    [ "$name" = model ] && args+=(-c "$MODEL")
    echo "bench_policy: $name run $i" >&2
    rm -rf "$TMP/logs"
    "$BIN" -q "${args[@]}"
    printf '%s\t%s\n' "$name" "$TMP/$name.$i.json" >>"$RESULTS"
  done
done
rm -rf "$TMP/logs"

"$PY" - "$RESULTS" "$CAP" "$WORKERS" "$BIN" "$MODEL" <<'PYEOF'
import json, os, resource, subprocess, sys

results, cap, workers, binary, model = sys.argv[1:6]
runs = {}
for line in open(results):
    name, js = line.rstrip("\n").split("\t")
    runs.setdefault(name, []).append(json.load(open(js)))
# Best run by wall time, and separately by CPU time: on a busy machine wall time mostly measures the
# other processes, CPU time what this one did.
best = {n: max(rs, key=lambda s: s["packets"] / s["wall_seconds"]) for n, rs in runs.items()}
best_cpu = {n: min(s["cpu_seconds"] for s in rs) for n, rs in runs.items()}
print()
print("capture: %s (%.1f MB, %d packets); -w %s; best of %d runs each" % (
    os.path.basename(cap), os.path.getsize(cap) / 1e6, best["plain"]["packets"], workers, len(runs["plain"])))
print()
print("| run | seconds | packets/s | ns/packet | CPU s (best) | packets per CPU s | notices | records |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, label in (("plain", "no site model"), ("model", "50 zones, 200 conduits")):
    s = best[name]
    pps = s["packets"] / s["wall_seconds"]
    print("| %s | %.3f | %.0f | %.0f | %.2f | %.0f | %d | %d |" % (
        label, s["wall_seconds"], pps, 1e9 / pps, best_cpu[name], s["packets"] / best_cpu[name], s["notices"],
        sum(s["logs"].values())))
p = best["plain"]["packets"] / best["plain"]["wall_seconds"]
m = best["model"]["packets"] / best["model"]["wall_seconds"]
print()
print("with the model: %.1f%% of the throughput without by wall time, %.1f%% by CPU time (target: at least 95%%)" % (
    100 * m / p, 100 * best_cpu["plain"] / best_cpu["model"]))
# Loading and validating the model is a fixed cost at start-up, not a per-packet one: on a short capture
# it is most of the difference.
load = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([binary, "check-config", model], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
print("loading the model (otsensor check-config): %.2f CPU s; by CPU time without it: %.1f%%" % (
    min(load), 100 * best_cpu["plain"] / max(best_cpu["model"] - min(load), 1e-9)))
PYEOF
