#!/usr/bin/env bash
# bench_syslog.sh [--flows N] [--capture FILE] -- the cost of the SIEM output (issue 7).
#
# The receiver is a plain TCP sink (Python, on a free loopback port), not rsyslog: it reads RFC 6587
# octet-counted frames and counts them, so what is measured is the sensor, not a receiver's parsing and
# disk. It reports its own CPU time, to show it is not the bound.
#
# (a) Messages per second to the sink over TCP, for cef, leef and json: a many-flows capture
#     (tools/gen_pcap.py, N flows between two zones that no conduit joins: one OT::No_Conduit notice per
#     flow, none suppressed) replays in a fraction of a second, so the notices queue up and the sink sees
#     the output's own rate: the whole path (format, enqueue, spool append with its batched fsync, send,
#     acknowledgement). Messages/s = messages received / (last received - first received).
# (b) Packets per second of a realistic replay with syslog off and on (cef over tcp): CAPTURE (default
#     /var/tmp/ots/slice1m.pcap, the first 1,000,000 packets of the benchmark capture) with the example
#     plant's model (config/site.example.yaml: its zones, conduits and shipped rules) and notice suppression
#     off, so that every violation is a notice (some 17,000 on the slice), every log written, -w 1.
#
# Every run prints wall and CPU seconds, and the load average before and after. On a shared machine both
# wander with the other load: OTS_BENCH_CALLGRIND=1 adds (c), the instructions of (b)'s two runs under
# callgrind on OTS_BENCH_CG_CAPTURE (default /var/tmp/ots/slice200k.pcap), which do not.
# Spools go to /var/tmp (disk, as /var/lib/otsensor would be).
# OTS_BIN: the otsensor binary (default build/release/otsensor); OTS_BENCH_RUNS: runs of (b) each (default
# 3, best wall kept). Scratch goes to temporary directories, removed at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${OTS_BIN:-$ROOT/build/release/otsensor}
RUNS=${OTS_BENCH_RUNS:-3}
PY=/usr/bin/python3
FLOWS=50000
CAP=/var/tmp/ots/slice1m.pcap
while [ $# -gt 0 ]; do
  case $1 in
    --flows) FLOWS=$2; shift 2 ;;
    --capture) CAP=$2; shift 2 ;;
    *) echo "usage: bench_syslog.sh [--flows N] [--capture FILE]" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "bench_syslog: $BIN not found (build the release preset, or set OTS_BIN)" >&2; exit 1; }
[ -f "$CAP" ] || {
  echo "bench_syslog: capture $CAP not found; make the benchmark capture with ../shared/tools/make-perf-pcap.sh," \
    "then: tcpdump -r /var/tmp/ots/perf.pcap -c 1000000 -w $CAP" >&2
  exit 1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-bench-syslog.XXXXXX")
SPOOLS=$(mktemp -d /var/tmp/otsensor-bench-syslog-spool.XXXXXX)
SINK_PID=
cleanup() {
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
  rm -rf "$TMP" "$SPOOLS"
}
trap cleanup EXIT

echo "bench_syslog: generating $FLOWS flows" >&2
"$PY" "$ROOT/tools/gen_pcap.py" many-flows --seed 3 --flows "$FLOWS" --packets-per-flow 6 --concurrent 200 \
  -o "$TMP/flows.pcap"
cat "$TMP/flows.pcap" "$CAP" >/dev/null  # in the page cache before the first run

# The sink: one connection at a time; after each, and whenever it has been idle for a second after
# receiving, writes "COUNT FIRST LAST CPU" (messages since it started; epoch seconds of the first and last
# data of the latest connection, one sensor run; its own CPU seconds) to the file named by its argument.
cat >"$TMP/sink.py" <<'PYEOF'
import os, resource, socket, sys, time
out = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
count, first, last = 0, 0.0, 0.0
def report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    with open(out + ".tmp", "w") as f:
        f.write(f"{count} {first} {last} {r.ru_utime + r.ru_stime}\n")
    os.replace(out + ".tmp", out)
s.listen(8)
report()  # the baseline: the interpreter's start-up is not the messages' cost
while True:
    c, _ = s.accept()
    c.settimeout(1.0)
    first = last = 0.0
    buf = b""
    while True:
        try:
            data = c.recv(1 << 20)
        except socket.timeout:
            if count: report()
            continue
        if not data:
            break
        now = time.time()
        first = first or now
        last = now
        buf += data
        # RFC 6587 octet counting: "MSG-LEN SP SYSLOG-MSG"
        pos, n_buf = 0, len(buf)
        while True:
            sp = buf.find(b" ", pos, pos + 12)
            if sp < 0: break
            end = sp + 1 + int(buf[pos:sp])
            if end > n_buf: break
            pos = end
            count += 1
        buf = buf[pos:]
    c.close()
    report()
PYEOF

"$PY" "$TMP/sink.py" "$TMP/counts" >"$TMP/sink.port" &
SINK_PID=$!
for _ in $(seq 100); do [ -s "$TMP/sink.port" ] && break; sleep 0.05; done
PORT=$(head -1 "$TMP/sink.port")

# The example plant with suppression off; its rules path made absolute (it is relative to config/).
sed -e 's/^\(  notice_suppress_s:\) [0-9]*/\1 0/' -e "s#^rules: \[\.\./rules/#rules: [$ROOT/rules/#" \
  "$ROOT/config/site.example.yaml" | grep -v '^outputs:' >"$TMP/plant-off.yaml"

echo "load before: $(uptime)"
"$PY" - "$BIN" "$TMP" "$CAP" "$RUNS" "$PORT" "$SPOOLS" "$ROOT/pcaps/modbus.pcap" \
  "${OTS_BENCH_CALLGRIND:-0}" "${OTS_BENCH_CG_CAPTURE:-/var/tmp/ots/slice200k.pcap}" <<'PYEOF'
import json, os, re, socket, subprocess, sys, time
binary, tmp, cap, runs, port, spools, quiet_capture, callgrind, cg_capture = sys.argv[1:10]
runs, port = int(runs), int(port)

# A loopback port bound but not listening: connections to it are refused, as to a SIEM that is down.
refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
refusing.bind(("127.0.0.1", 0))
down_port = refusing.getsockname()[1]

def outputs(fmt, spool, to_port):
    return (f"outputs:\n  syslog:\n    - name: bench\n      host: 127.0.0.1\n      port: {to_port}\n"
            f"      transport: tcp\n      format: {fmt}\n      spool_dir: {os.path.join(spools, spool)}\n")

def model(name, text):
    path = os.path.join(tmp, name + ".yaml")
    open(path, "w").write(text)
    return path

FLOWS_ZONES = ("site: syslog benchmark\ndefaults:\n  notice_suppress_s: 0\nzones:\n"
               "  - name: clients\n    security_level: 1\n    networks: [\"10.64.0.0/10\"]\n"
               "  - name: servers\n    security_level: 1\n    networks: [\"172.20.0.0/16\"]\n")

def counts():
    try:
        c, first, last, cpu = open(os.path.join(tmp, "counts")).read().split()
        return int(c), float(first), float(last), float(cpu)
    except (OSError, ValueError):
        return 0, 0.0, 0.0, 0.0

def run(capture, model_path, tag, sink=False, expect=None, quiet=False):
    """One replay: its --stats-json, process wall and CPU seconds, and (`sink`) what the sink got and over
    how long, once it has `expect` more messages (default: as many as the run says it sent)."""
    logs = os.path.join(tmp, "logs-" + tag)
    stats = os.path.join(tmp, tag + ".json")
    before = counts()
    t0 = time.time()
    p = subprocess.Popen([binary, "-r", capture, "-c", model_path, "-l", logs, "-q", "--stats-json", stats],
                         stderr=subprocess.DEVNULL if quiet else None)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"bench_syslog: otsensor failed on {tag} (status {status})")
    s = json.load(open(stats))
    r = {"stats": s, "wall": time.time() - t0, "cpu": ru.ru_utime + ru.ru_stime,
         "notices": s["logs"].get("notice", 0), "bench": s.get("syslog", {}).get("bench", {})}
    if sink:
        expect = r["bench"]["sent"] if expect is None else expect
        deadline = time.time() + 60
        while counts()[0] < before[0] + expect and time.time() < deadline:
            time.sleep(0.1)
        c, first, last, sink_cpu = counts()
        r["received"] = c - before[0]
        r["span"] = last - first  # the run's one connection: its first data to its last
        r["sink_cpu"] = sink_cpu - before[3]
    subprocess.run(["rm", "-rf", logs])
    return r

flows = os.path.join(tmp, "flows.pcap")
print("(a1) end to end: the many-flows replay with the sink up, one notice per flow, one connection\n")
print("| format | notices | received | dropped | replay wall s | notices/s of the replay | first to last message s "
      "| messages/s | sensor CPU s | sink CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for fmt in ("cef", "leef", "json"):
    m = model(f"flows-{fmt}", FLOWS_ZONES + outputs(fmt, f"e2e-{fmt}", port))
    r = run(flows, m, f"e2e-{fmt}", sink=True)
    wall = r["stats"]["wall_seconds"]
    print(f"| {fmt} | {r['notices']} | {r['received']} | {r['bench']['dropped']} | {wall:.2f} "
          f"| {r['notices'] / wall:,.0f} | {r['span']:.2f} | {r['received'] / max(r['span'], 1e-9):,.0f} "
          f"| {r['cpu']:.2f} | {r['sink_cpu']:.2f} |")

print("\n(a2) the output's own rate: the same notices spooled while the SIEM is down (run 1, connections refused),"
      "\nthen sent from the spool by a run that raises no notice (run 2, the sink up): the sender alone\n")
print("| format | spooled (run 1) | run 1 CPU s | received (run 2) | first to last message s | messages/s "
      "| run 2 CPU s | sink CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for fmt in ("cef", "leef", "json"):
    down = run(flows, model(f"down-{fmt}", FLOWS_ZONES + outputs(fmt, f"drain-{fmt}", down_port)), f"down-{fmt}",
               quiet=True)  # its one line: connection refused
    pending = down["bench"]["pending"]
    up = run(quiet_capture, model(f"up-{fmt}", "site: drain\n" + outputs(fmt, f"drain-{fmt}", port)), f"up-{fmt}",
             sink=True, expect=pending)
    print(f"| {fmt} | {pending} | {down['cpu']:.2f} | {up['received']} | {up['span']:.2f} "
          f"| {up['received'] / max(up['span'], 1e-9):,.0f} | {up['cpu']:.2f} | {up['sink_cpu']:.2f} |")

# (b) The packet rate with syslog off and on.
plant_off = os.path.join(tmp, "plant-off.yaml")
plant_on = model("plant-on", open(plant_off).read() + outputs("cef", "plant", port))
print(f"\n(b) packets/s on {os.path.basename(cap)}, example plant model, suppression off, every log, -w 1; "
      f"best wall of {runs}\n")
print("| syslog | packets | notices | messages received | wall s | packets/s (wall) | CPU s | CPU ns/packet |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
best = {}
for i in range(runs):
    for mode, m in (("off", plant_off), ("on", plant_on)):
        r = run(cap, m, f"plant-{mode}-{i}", sink=mode == "on")
        if mode not in best or r["stats"]["wall_seconds"] < best[mode]["stats"]["wall_seconds"]:
            best[mode] = r
for mode in ("off", "on"):
    r = best[mode]
    s = r["stats"]
    print(f"| {mode} | {s['packets']} | {r['notices']} | {r.get('received', '')} | {s['wall_seconds']:.2f} "
          f"| {s['packets'] / s['wall_seconds']:,.0f} | {s['cpu_seconds']:.2f} "
          f"| {1e9 * s['cpu_seconds'] / s['packets']:,.0f} |")
off, on = best["off"]["stats"], best["on"]["stats"]
rate = (on["packets"] / on["wall_seconds"]) / (off["packets"] / off["wall_seconds"])
print(f"\nsyslog on: packet rate {100.0 * rate:.1f}% of off (wall), "
      f"CPU {100.0 * on['cpu_seconds'] / off['cpu_seconds'] - 100:+.1f}%")

if callgrind == "1":
    print(f"\n(c) instructions (callgrind, every thread) on {os.path.basename(cg_capture)}, the models of (b)\n")
    print("| syslog | notices | instructions | vs. off | per notice |")
    print("|---|---:|---:|---:|---:|")
    ir = {}
    for mode, m in (("off", plant_off), ("on", plant_on)):
        logs = os.path.join(tmp, f"cg-logs-{mode}")
        out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.{mode}", binary,
                              "-r", cg_capture, "-c", m, "-l", logs, "-q", "--stats-json", f"{tmp}/cg-{mode}.json"],
                             capture_output=True, text=True, check=True).stderr
        ir[mode] = int(re.search(r"Collected : (\d+)", out).group(1))
        notices = json.load(open(f"{tmp}/cg-{mode}.json"))["logs"].get("notice", 0)
        extra = f"{ir[mode] / ir['off'] * 100 - 100:+.1f}%" if mode == "on" else ""
        per = f"{(ir[mode] - ir['off']) / max(notices, 1):,.0f}" if mode == "on" else ""
        print(f"| {mode} | {notices} | {ir[mode] / 1e6:,.1f} M | {extra} | {per} |")
        subprocess.run(["rm", "-rf", logs])
PYEOF
echo "load after: $(uptime)"
