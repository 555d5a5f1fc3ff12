#!/usr/bin/env bash
# demo.sh -- install, build (release) and run the sensor on the bundled demo capture, then show what it
# wrote: the log files with their record counts, the first connections of conn.log and the notices the
# example site model (config/site.example.yaml) raises on it.
#   OTS_DEMO_LOGDIR=DIR   where the logs go (default demo-logs, relative to the repository)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup.sh release

BIN="${OTS_BUILD_ROOT:-build}/release/otsensor"
LOGDIR=${OTS_DEMO_LOGDIR:-demo-logs}
# The plant's traffic and, at the same time, its attesting fleet (tools/aqat_fleet.py --seed 1).
args=(-r pcaps/demo.pcap -r pcaps/attest_fleet.pcap -l "$LOGDIR")
[ -f config/site.example.yaml ] && args+=(-c config/site.example.yaml)

mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/*.log   # a previous run's logs (never the directory: it may be any path)
echo
echo "\$ $BIN ${args[*]}"
"$BIN" "${args[@]}"   # prints its own one-line summary on stderr

echo
echo "Logs in $LOGDIR/:"
shopt -s nullglob
for f in "$LOGDIR"/*.log; do
  # records = lines that are not '#' header/footer lines
  printf '  %-24s %6d records\n' "$(basename "$f")" "$(grep -vc '^#' "$f" || true)"
done

# Like zeek-cut: print the columns WANT (names from the '#fields' line) of a log's first MAX records, aligned.
show() {  # LOG WANT MAX
  awk -F'\t' -v want="$2" -v max="$3" '
    BEGIN { n = split(want, w, " "); for (j = 1; j <= n; j++) { cell[0, j] = w[j]; width[j] = length(w[j]) } }
    /^#fields/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
    /^#/ { next }
    { if (++rows > max) exit
      for (j = 1; j <= n; j++) {
        v = (w[j] in col) ? $(col[w[j]]) : "-"; cell[rows, j] = v
        if (length(v) > width[j]) width[j] = length(v)
      } }
    END { if (rows > max) rows = max
          for (r = 0; r <= rows; r++) for (j = 1; j <= n; j++) printf "%-*s%s", (j < n ? width[j] : 0), cell[r, j], (j < n ? "  " : "\n") }
  ' "$1"
}

if [ -f "$LOGDIR/conn.log" ]; then
  echo
  echo "conn.log (first 15 connections):"
  show "$LOGDIR/conn.log" "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service conn_state history zone_orig zone_resp" 15
fi
if [ -f "$LOGDIR/notice.log" ]; then
  echo
  echo "notice.log (zone and conduit violations of the example site model, its rules' matches, devices without attestation):"
  show "$LOGDIR/notice.log" "ts note src id.orig_h id.resp_h id.resp_p zone_orig zone_resp conduit operation rule_id" 30
fi
if [ -f "$LOGDIR/attest.log" ]; then
  echo
  echo "attest.log (attestation verdicts, records per verdict):"
  awk -F'\t' '/^#fields/ { for (i = 2; i <= NF; i++) if ($i == "verdict") c = i - 1; next }
               /^#/ { next } { n[$c]++ } END { for (v in n) printf "  %-20s %6d\n", v, n[v] }' "$LOGDIR/attest.log"
fi
