#!/usr/bin/env bash
# fuzz.sh -- build the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and run each one for a fixed
# time on a corpus seeded from captures: the project's own (pcaps/) and, when present, the real ones in
# ../shared/pcaps. Exits non-zero when the build fails or a fuzzer finds a crash, leak, timeout or
# out-of-memory; the input that did it is kept and printed with the command that reproduces it.
#
#   OTS_FUZZ_SECONDS=N      run time of each fuzzer (default 20: six fuzzers fit CI's 30 minutes beside two full builds)
#   OTS_FUZZ_TARGETS="a b"  run only these fuzzers (default: every *_fuzz target the build defines)
#   OTS_FUZZ_RSS_MB=N       -rss_limit_mb (default 2048)
#   OTS_FUZZ_MAX_SEEDS=N    seeds per fuzzer (default 100 per second of run time: libFuzzer runs every seed
#                           before -max_total_time is looked at, and the real captures give some 20000)
#   OTS_BUILD_ROOT=DIR      build into DIR/fuzz instead of build/fuzz
#   OTS_JOBS=N              build parallelism (default 2)
#   OTS_SHARED_DIR=DIR      the real captures (default: ../shared beside the checkout)
#
# The last line is "fuzz: P passed, F failed" (one per fuzzer); tools/test.sh reads it.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
SECS=${OTS_FUZZ_SECONDS:-20}
RSS_MB=${OTS_FUZZ_RSS_MB:-2048}
MAX_SEEDS=${OTS_FUZZ_MAX_SEEDS:-$((SECS * 100))}
JOBS=${OTS_JOBS:-2}
BUILD=${OTS_BUILD_ROOT:+$OTS_BUILD_ROOT/fuzz}
BUILD=${BUILD:-$ROOT/build/fuzz}
ARTIFACTS=$BUILD/fuzz-artifacts
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# Which ports' payloads seed each fuzzer (tools/fuzz_seeds.py). A new *_fuzz target needs its line here.
declare -A SEED_PORTS=(
  [modbus_fuzz]=502
  [dnp3_fuzz]=20000
  [enip_fuzz]=44818,2222
  [s7comm_fuzz]=102
  [aqat_fuzz]=62443
  [pcap_file_fuzz]=files  # whole capture files, cut to their first SEED_FILE_BYTES
)
SEED_FILE_BYTES=8192

# Sanitizer reports must end the run (libFuzzer then saves the input); UBSan alone would only print.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

log() { printf 'fuzz: %s\n' "$*"; }
rel() { local p=$1; printf '%s' "${p#"$ROOT"/}"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- Build: packages (no apt call when they are there), configure, then the fuzzers only.
t0=$SECONDS
build_ok=1
if ! OTS_SETUP_SKIP_BUILD=1 bash tools/setup.sh fuzz; then
  build_ok=0
elif [ -n "${OTS_BUILD_ROOT:-}" ]; then
  cmake --preset fuzz -B "$BUILD" >/dev/null || build_ok=0
else
  cmake --preset fuzz >/dev/null || build_ok=0
fi
targets=()
if [ "$build_ok" = 1 ]; then
  mapfile -t defined < <(cmake --build "$BUILD" --target help | sed -n 's/^\([A-Za-z0-9_]*_fuzz\): phony$/\1/p' | sort)
  read -r -a targets <<<"${OTS_FUZZ_TARGETS:-${defined[*]}}"
  if [ "${#targets[@]}" -eq 0 ]; then
    log "the fuzz preset defines no *_fuzz target"
    build_ok=0
  elif ! cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"; then
    build_ok=0
  fi
fi
if [ "$build_ok" = 0 ]; then
  # Every fuzzer counts as failed: the summary must not look better than a run that found nothing.
  n=${#targets[@]}
  [ "$n" -gt 0 ] || n=$(find "$ROOT" -path "$ROOT/build" -prune -o -name '*_fuzz.cpp' -print | wc -l)
  log "BUILD FAILED after $((SECONDS - t0)) s"
  log "0 passed, $n failed"
  exit 1
fi
log "built ${targets[*]} in $((SECONDS - t0)) s"

# --- Seeds: the project's captures, and the real ones when ../shared is there.
sources=("$ROOT/pcaps")
shared=${OTS_SHARED_DIR:-$ROOT/../shared}
if [ -d "$shared/pcaps" ]; then
  sources+=("$(cd "$shared/pcaps" && pwd)")
else
  log "no $shared/pcaps (set OTS_SHARED_DIR): seeding from pcaps/ only"
fi
log "seeds from ${sources[*]}; ${SECS} s per fuzzer"

mkdir -p "$ARTIFACTS"
pass=0 fail=0
for t in "${targets[@]}"; do
  bin=$BUILD/fuzz/$t
  ports=${SEED_PORTS[$t]:-}
  if [ -z "$ports" ]; then
    log "$t FAILED: no seed ports for it in SEED_PORTS (tools/fuzz.sh)"
    fail=$((fail + 1))
    continue
  fi
  seeds=$WORK/$t/seeds corpus=$WORK/$t/corpus out=$WORK/$t/out.log
  mkdir -p "$corpus"
  if [ "$ports" = files ]; then
    mkdir -p "$seeds"
    nseeds=0
    while IFS= read -r f && [ "$nseeds" -lt "$MAX_SEEDS" ]; do
      head -c "$SEED_FILE_BYTES" "$f" >"$seeds/$nseeds" && nseeds=$((nseeds + 1))
    done < <(find "${sources[@]}" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
  else
    nseeds=$("$PY" tools/fuzz_seeds.py --max="$MAX_SEEDS" "$ports" "$seeds" "${sources[@]}" |
      sed -nE 's/^([0-9]+) seeds in [^ ]*( \(of ([0-9]+)\))?$/\1\2/p')
  fi
  t1=$SECONDS
  # New inputs go to the fresh working corpus (first directory); the seeds are only read.
  "$bin" -max_total_time="$SECS" -rss_limit_mb="$RSS_MB" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$t-" "$corpus" "$seeds" </dev/null >"$out" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$out" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$out" | tail -1)
  if [ "$rc" -eq 0 ]; then
    log "$t ok: ${nseeds:-0} seeds, ${runs:-?} runs, ${cov:-no coverage line} in $((SECONDS - t1)) s"
    pass=$((pass + 1))
    continue
  fi
  fail=$((fail + 1))
  artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$out" | tail -1)
  log "$t FAILED (exit $rc) after $((SECONDS - t1)) s; its output ends:"
  tail -n 60 "$out" | sed 's/^/    /'
  if [ -n "$artifact" ] && [ -f "$artifact" ]; then
    log "$t input: $(rel "$artifact") ($(stat -c %s "$artifact") bytes)"
    log "$t reproduce: $(rel "$bin") $(rel "$artifact")"
    # CI keeps only the log: the input itself, to rebuild it with `base64 -d`.
    [ "$(stat -c %s "$artifact")" -le 65536 ] && log "$t input (base64): $(base64 -w0 "$artifact")"
  else
    log "$t: libFuzzer saved no input; rerun it alone: OTS_FUZZ_TARGETS=$t bash tools/fuzz.sh"
  fi
done

log "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
