#!/usr/bin/env bash
# tsan.sh -- the sensor's threads under ThreadSanitizer: the capture reader, the workers (-w 2), the
# attestation stage (its own thread, fed through a bounded queue), the notice and log stages and the SBOM
# writer, on captures that exercise all of them, and a shutdown by SIGTERM in the middle of a stream.
# Not part of .ci/run (a TSan build of the sensor takes about 10 minutes on 2 cores, beyond CI's budget);
# run it after changing anything that threads share.
#
#   tools/tsan.sh            build the tsan preset's otsensor (clang, -fsanitize=thread) and run every case
#   OTS_TSAN_BIN=PATH        use that binary instead of building one
#   OTS_TSAN_SUITE=1         then also build the whole test suite with TSan and run it (about 7 minutes of
#                            tests on 2 cores after a 10-minute build; every test that starts the sensor
#                            starts the TSan build of it)
#
# Each case runs with halt_on_error: the first data race or lock-order inversion stops it, the report goes
# to stderr and the script exits 1. Prints one line per case and "tsan: N cases, no reports" at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
if [ -n "${OTS_TSAN_BIN:-}" ]; then
  BIN=$OTS_TSAN_BIN
else
  bash "$ROOT/tools/setup.sh" >/dev/null  # the packages; clang comes with them
  (cd "$ROOT" && cmake --preset tsan >/dev/null && cmake --build build/tsan --target otsensor >&2)
  BIN="$ROOT/build/tsan/otsensor"
fi
[ -x "$BIN" ] || { echo "tsan: $BIN is not an executable" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/otsensor-tsan.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# exitcode 66: a report, told apart from the sensor's own exit codes.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"

cases=0
# NAME RC ERRFILE: stop the script, showing the report, if TSan reported anything.
no_report() {
  if [ "$2" -eq 66 ] || grep -q "WARNING: ThreadSanitizer" "$3"; then
    cat "$3" >&2
    echo "tsan: $1: ThreadSanitizer report (above)" >&2
    exit 1
  fi
}

run_case() {  # NAME ARGS...: the sensor with ARGS, logs in a fresh directory
  local name=$1 rc=0 t0=$SECONDS
  shift
  rm -rf "$TMP/logs"
  mkdir -p "$TMP/logs"
  "$BIN" -q -l "$TMP/logs" "$@" 2>"$TMP/$name.err" || rc=$?
  no_report "$name" "$rc" "$TMP/$name.err"
  if [ "$rc" -ne 0 ]; then
    cat "$TMP/$name.err" >&2
    echo "tsan: $name: otsensor exited $rc" >&2
    exit 1
  fi
  cases=$((cases + 1))
  printf 'tsan: %-44s ok  (%3d s, %s records)\n' "$name" $((SECONDS - t0)) \
    "$(cat "$TMP"/logs/*.log 2>/dev/null | grep -vc '^#' || true)"
}

cd "$ROOT"
# 1. The demo: the plant's traffic and its fleet, two workers, every log, the SBOM database.
run_case "demo, -w 2" -r pcaps/demo.pcap -r pcaps/attest_fleet.pcap -c config/site.example.yaml -w 2

# 2. Every bundled capture at once, two workers.
caps=()
for f in pcaps/*.pcap; do caps+=(-r "$f"); done
run_case "every bundled capture, -w 2" "${caps[@]}" -c config/site.example.yaml -w 2

# 3. A fleet of 200 devices with faults, the attestation queue one tick deep (a hand-over per tick, the
#    loop waiting on the stage whenever it is behind) and snapshots of the inventory every 10 s.
"$PY" tools/aqat_fleet.py "$TMP/fleet.pcap" --seed 11 --devices 200 --duration 120 --fault replay:3 \
  --fault fork:5 --fault clone:7 --fault silence:9 --emit-config "$TMP/attestation.yaml" >/dev/null
"$PY" tools/site_with_fleet.py config/site.example.yaml "$TMP/site.yaml" "$TMP/attestation.yaml" \
  --append $'\nsensor:\n  attest_queue_ticks: 1\n  inventory_interval_s: 10\n'
run_case "fleet of 200, queue of 1 tick, -w 2" -r "$TMP/fleet.pcap" -c "$TMP/site.yaml" -w 2

# 4. SIGTERM in the middle of a stream: a FIFO fed slowly, the sensor stopped while packets are in flight
#    in every stage; it must drain and write its logs.
mkfifo "$TMP/feed"
"$PY" - "$TMP/fleet.pcap" "$TMP/feed" <<'PYEOF' &
import sys, time
# 64 KB every 0.2 s; the sensor's exit closes the FIFO and ends this with a broken pipe.
data = open(sys.argv[1], "rb").read()
try:
    with open(sys.argv[2], "wb") as out:
        for at in range(0, len(data), 65536):
            out.write(data[at:at + 65536])
            out.flush()
            time.sleep(0.2)
except BrokenPipeError:
    pass
PYEOF
feeder=$!
rm -rf "$TMP/logs"
mkdir -p "$TMP/logs"
"$BIN" -q -l "$TMP/logs" -r "$TMP/feed" -c "$TMP/site.yaml" -w 2 2>"$TMP/sigterm.err" &
sensor=$!
sleep 3
kill -TERM "$sensor"
rc=0
wait "$sensor" || rc=$?
kill "$feeder" 2>/dev/null || true
wait "$feeder" 2>/dev/null || true
no_report "SIGTERM mid-stream" "$rc" "$TMP/sigterm.err"
[ -s "$TMP/logs/conn.log" ] || { cat "$TMP/sigterm.err" >&2; echo "tsan: SIGTERM mid-stream: no conn.log (exit $rc)" >&2; exit 1; }
cases=$((cases + 1))
printf 'tsan: %-44s ok  (exit %d)\n' "SIGTERM mid-stream, -w 2" "$rc"

echo "tsan: $cases cases, no reports"

if [ "${OTS_TSAN_SUITE:-0}" = 1 ]; then
  (cd "$ROOT" && cmake --preset tsan >/dev/null && cmake --build build/tsan >&2)
  ctest --test-dir "$ROOT/build/tsan" -j"$(nproc)" --timeout 600 --output-on-failure
  if grep -q "WARNING: ThreadSanitizer" "$ROOT/build/tsan/Testing/Temporary/LastTest.log"; then
    echo "tsan: the test suite passed but a ThreadSanitizer report is in its log" >&2
    exit 1
  fi
  echo "tsan: the test suite under ThreadSanitizer passed, no reports"
fi
