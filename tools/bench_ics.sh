#!/usr/bin/env bash
# bench_ics.sh [CAPTURE] -- issue 3's benchmark: the full pipeline with every log on a Modbus/DNP3-heavy
# capture, one worker (target: at least 2 M packets/s per worker), beside the libpcap floor. A thin front
# to tools/bench.sh (same environment: OTS_BENCH_BIN, OTS_BENCH_RUNS, OTS_BENCH_CALLGRIND), which prints
# packets/s, ns/packet, worker CPU ns/packet and peak RSS as a Markdown table for docs/PERFORMANCE.md.
#
# CAPTURE defaults to $OTS_ICS_PCAP or /var/tmp/ots/mbdnp3.pcap. To build it (outside the repository):
#   mkdir DIR && cp ../shared/pcaps/modbus/* ../shared/pcaps/dnp3/* DIR/
#   ../shared/tools/make-perf-pcap.sh -i DIR -s 400 /var/tmp/ots/mbdnp3.pcap
# (copies, not symlinks: make-perf-pcap.sh looks for `find -type f`, which skips symlinks.)
# Runs `-w 1` (a reading thread and the worker's thread) and `-w 1 --inline-worker` (one thread) unless
# OTS_BENCH_CONFIGS says otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAP=${1:-${OTS_ICS_PCAP:-/var/tmp/ots/mbdnp3.pcap}}
if [ ! -f "$CAP" ]; then
  echo "bench_ics: $CAP not found; build it as the comment at the top of $0 says" >&2
  exit 1
fi
OTS_BENCH_CONFIGS=${OTS_BENCH_CONFIGS:-w1 w1inline} exec bash "$ROOT/tools/bench.sh" "$CAP"
