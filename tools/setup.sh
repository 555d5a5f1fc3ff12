#!/usr/bin/env bash
# setup.sh [PRESET] -- install everything otsensor needs (Debian 12 packages) and build PRESET
# (release, debug or asan; default release). Idempotent: when every package is there it does not touch
# apt at all, so a second run only builds.
#
#   OTS_SETUP_SKIP_BUILD=1   install only
#   OTS_JOBS=N               build parallelism (default 2: the machines have 2 cores)
#   OTS_BUILD_ROOT=DIR       build into DIR/PRESET instead of the preset's build/PRESET
#   OTS_CMAKE_ARGS="..."     extra configure arguments (e.g. -DOTS_WERROR=OFF)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRESET=${1:-release}
JOBS=${OTS_JOBS:-2}

PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config git
  # libraries
  libpcap-dev libdpdk-dev libvectorscan-dev libsodium-dev libyaml-cpp-dev catch2 libfmt-dev
  libcli11-dev nlohmann-json3-dev libsqlite3-dev libgnutls28-dev
  # fuzzing
  clang libclang-rt-14-dev llvm   # llvm: llvm-symbolizer, so sanitizer and fuzzer stacks name functions and lines
  # test oracle and perf capture tooling
  tshark wireshark-common tcpreplay iproute2
  # SIEM output tests
  rsyslog rsyslog-gnutls gnutls-bin
  # live capture test: a real Modbus/TCP client and server between two network namespaces
  mbpoll python3-pymodbus python3-serial python3-serial-asyncio
  # OUI table, simulator signing, measurement
  ieee-data python3 python3-nacl python3-yaml time valgrind
)
# Optional: installed when the distribution has them.
OPTIONAL=()

log() { printf 'setup: %s\n' "$*" >&2; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "not root and no sudo: cannot install packages"; exit 1; }
  SUDO=(sudo)
fi

# One dpkg-query for all packages: "name ii " for each installed one. (No `cmd | grep -q` here: with
# pipefail, grep quitting early makes the writer die of SIGPIPE and the test fail.)
status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" "${OPTIONAL[@]}" 2>/dev/null || true)
installed() { [[ $'\n'"$status" == *$'\n'"$1 ii "* ]]; }
# A package apt knows a candidate version for.
available() { local p; p=$(apt-cache policy "$1" 2>/dev/null || true); [[ "$p" == *"Candidate: "[!\(]* ]]; }
lists_fresh() {
  # Package lists younger than a day.
  local f; f=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null || true)
  [ -n "$f" ]
}

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
opt_missing=()
for p in "${OPTIONAL[@]}"; do installed "$p" || opt_missing+=("$p"); done

if [ "${#missing[@]}" -gt 0 ] || [ "${#opt_missing[@]}" -gt 0 ]; then
  updated=0
  update() { log "apt-get update"; "${SUDO[@]}" apt-get update -qq; updated=1; }
  lists_fresh || update
  # A package apt does not know (stale or empty lists): refresh once.
  if [ "$updated" -eq 0 ]; then
    for p in "${missing[@]}"; do available "$p" || { update; break; }; done
  fi
  want=("${missing[@]}")
  for p in "${opt_missing[@]}"; do
    if available "$p"; then want+=("$p"); else log "optional package $p is not in this distribution: skipped"; fi
  done
  if [ "${#want[@]}" -gt 0 ]; then
    # wireshark-common asks whether non-root users may capture (setuid dumpcap): answer no.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | "${SUDO[@]}" debconf-set-selections
    log "installing: ${want[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${want[@]}" </dev/null
  fi
fi

[ "${OTS_SETUP_SKIP_BUILD:-0}" = 1 ] && exit 0

cd "$ROOT"
read -r -a extra <<<"${OTS_CMAKE_ARGS:-}"
if [ -n "${OTS_BUILD_ROOT:-}" ]; then
  cmake --preset "$PRESET" -B "$OTS_BUILD_ROOT/$PRESET" "${extra[@]}" >/dev/null
  cmake --build "$OTS_BUILD_ROOT/$PRESET" -j "$JOBS"
else
  cmake --preset "$PRESET" "${extra[@]}" >/dev/null
  cmake --build --preset "$PRESET" -j "$JOBS"
fi
