#!/usr/bin/env bash
# regen_pcaps.sh [--check] [OUTDIR] -- regenerate the project's own captures in pcaps/ with
# tools/gen_pcap.py (the commands below are the ones pcaps/README.md lists).
#   (no argument)  rewrite pcaps/*.pcap in place
#   OUTDIR         write them into OUTDIR instead
#   --check        write them into a temporary directory and compare byte for byte with pcaps/;
#                  exits 1 and names the files that differ (the CTest test pcaps_are_reproducible)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN="$ROOT/tools/gen_pcap.py"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# file            scenario      seed
CAPTURES=(
  "demo.pcap        demo         1"
  "conn-states.pcap conn-states  1"
  "fragments.pcap   fragments    1"
  "s7comm.pcap      s7comm       1"
  "enip.pcap        enip         1"
  "dnp3.pcap        dnp3         1"
  "modbus.pcap      modbus       1"
  "attacks.pcap     attacks      1"
)

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
if [ "$check" = 1 ]; then
  OUT=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-pcaps.XXXXXX")
  trap 'rm -rf "$OUT"' EXIT
else
  OUT=${1:-$ROOT/pcaps}
  mkdir -p "$OUT"
fi

bad=0
for row in "${CAPTURES[@]}"; do
  read -r file scenario seed <<<"$row"
  "$PY" "$GEN" "$scenario" --seed "$seed" -o "$OUT/$file"
  if [ "$check" = 1 ]; then
    if cmp -s "$OUT/$file" "$ROOT/pcaps/$file"; then
      echo "ok       pcaps/$file == gen_pcap.py $scenario --seed $seed"
    else
      echo "DIFFERS  pcaps/$file != gen_pcap.py $scenario --seed $seed (run tools/regen_pcaps.sh and commit)"
      bad=1
    fi
  else
    echo "wrote $OUT/$file ($(stat -c %s "$OUT/$file") bytes)"
  fi
done
# The demo fleet starts at 08:07:00 so that it attests throughout demo.pcap (08:09:10-08:09:30): the two are
# replayed together by tools/demo.sh, and config/site.example.yaml trusts this fleet's CA (seed 1).
"$PY" "$ROOT/tools/aqat_fleet.py" "$OUT/attest_fleet.pcap" --seed 1 --devices 6 --duration 180 --start 1710144420 --fault unattested $([ "$check" = 1 ] && echo --check) || bad=1
exit "$bad"
