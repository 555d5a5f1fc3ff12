#!/usr/bin/env bash
# log_identity.sh OTSENSOR_BEFORE OTSENSOR_AFTER CAPTURE... -- checks that two builds write byte-identical
# logs: runs each binary with every log (-w 1 unless $OTS_IDENTITY_ARGS gives -w) on each capture (or on every capture under a directory
# given as CAPTURE) and compares every log file (*.log) of the two runs. Only the #open and #close lines, which
# hold the wall clock, are left out of the comparison (and stderr's run time and log directory). Extra otsensor arguments: $OTS_IDENTITY_ARGS.
# Prints one line per capture and exits 1 if any log differs (a unified diff of the first lines of each
# difference goes to stderr).
set -euo pipefail

[ $# -ge 3 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
A=$1 B=$2
shift 2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/otsensor-identity.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

caps=()
for c in "$@"; do
  if [ -d "$c" ]; then
    while IFS= read -r -d '' f; do caps+=("$f"); done < <(find -L "$c" -type f \( -name '*.pcap' -o -name '*.pcapng' \
      -o -name '*.cap' \) -print0 | sort -z)
  else
    caps+=("$c")
  fi
done

# One worker unless the extra arguments choose: otsensor refuses a second -w, so both runs would fail
# alike, which must not pass for identical logs (a run that fails is a failure here).
workers="-w 1"
case " ${OTS_IDENTITY_ARGS:-} " in *" -w "*|*" --workers "*|*" -w"[0-9]*|*" --workers="*) workers="" ;; esac

bad=0
for cap in "${caps[@]}"; do
  for side in a b; do
    bin=$A; [ "$side" = b ] && bin=$B
    rm -rf "$TMP/$side"; mkdir -p "$TMP/$side"
    # shellcheck disable=SC2086
    "$bin" -r "$cap" -l "$TMP/$side" $workers ${OTS_IDENTITY_ARGS:-} >"$TMP/$side.out" 2>"$TMP/$side.err" || \
      echo "exit $?" >>"$TMP/$side.err"
    # Logs only: the SBOM database a site model may write beside them is binary and holds wall-clock
    # columns (compare its tables with sqlite3 when it matters).
    for f in "$TMP/$side"/*.log; do
      [ -f "$f" ] || continue
      grep -v -E '^#(open|close)	' "$f" >"$f.cmp" || true
    done
  done
  diffs=()
  for f in $( (cd "$TMP/a" && ls; cd "$TMP/b" && ls) | grep '\.log$' | sort -u); do
    if ! cmp -s "$TMP/a/$f.cmp" "$TMP/b/$f.cmp"; then
      diffs+=("$f")
      diff -u "$TMP/a/$f.cmp" "$TMP/b/$f.cmp" 2>&1 | head -20 >&2 || true
    fi
  done
  # stderr's summary names the log directory and the run time: neither is the build's doing.
  for side in a b; do
    sed -e "s|$TMP/$side|LOGDIR|g" -e 's/ in [0-9.]* s;/ in - s;/' "$TMP/$side.err" >"$TMP/$side.err.cmp"
  done
  cmp -s "$TMP/a.err.cmp" "$TMP/b.err.cmp" || diffs+=("stderr")
  n=$(ls "$TMP/a" | grep -c '\.log$' || true)
  if grep -q '^exit ' "$TMP/a.err" "$TMP/b.err"; then
    echo "FAIL  $(basename "$cap"): otsensor failed ($(tail -1 "$TMP/a.err"))"
    bad=1
  elif [ "${#diffs[@]}" -eq 0 ]; then
    echo "same  $(basename "$cap") ($n logs)"
  else
    echo "DIFF  $(basename "$cap"): ${diffs[*]}"
    bad=1
  fi
done
exit "$bad"
