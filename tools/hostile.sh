#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the black-box hostile suite (tests/hostile/hostile.sh) against build/dpvpn: floods and
# abuse from an attacker namespace on a bridge shared with the gateway and stock openvpn clients.
#
#   netns ivgh-sw: br0 --- ivgh-gw (dpvpn 10.203.0.1, af_packet)
#                      +-- ivgh-c1, ivgh-c2 (stock openvpn 10.203.0.11/.12)
#                      +-- ivgh-cN (attacker: python3 hostile.py, spoofed 10.204.0.0/16)
#   Only these namespaces exist; nothing is sent outside them.
#
# Installs what is missing (tools/setup-deps.sh) and builds dpvpn (meson setup if needed, ninja).
#
# usage: tools/hostile.sh [--long] [--build DIR] [--only s1,s2,...]
#   (default)   the short CI cases: 15 s floods at 50 000 packets/s, about 4 minutes in all
#   --long      80 s floods as fast as hostile.py sends, s3 waits for the half-open sessions
#               to expire, 6 restarts in s1: under 10 minutes
#   --build DIR meson build directory (default build; created if absent)
#   --only LIST comma-separated cases among s1 s1fast s2 s2auth s2crypt s2v2 s3 s6
# Needs root. Prints each case's RESULT line and a summary; exit 1 if a case failed (a known
# failure, reported as such, does not count).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build long="" cases="s1 s1fast s2 s2auth s2crypt s2v2 s3 s6"
while (($#)); do
  case $1 in
    --long) long=--long ;;
    --build) build=$2; shift ;;
    --only) cases=${2//,/ }; shift ;;
    *) echo "usage: $0 [--long] [--build DIR] [--only s1,s2,...]" >&2; exit 2 ;;
  esac
  shift
done
[[ $build == /* ]] || build=$root/$build
[[ $(id -u) == 0 ]] || { echo "hostile: needs root (network namespaces)" >&2; exit 1; }

# shellcheck source-path=SCRIPTDIR source=bench/prepare.sh
source "$root/tools/bench/prepare.sh"
bench_prepare "$build" dpvpn || { echo "hostile: could not install or build dpvpn (see above)" >&2; exit 1; }

failed=0 summary=()
for c in $cases; do
  log=$(mktemp /tmp/hostile-"$c".XXXXXX)
  echo "== hostile $c ${long}" >&2
  rc=0
  "$root/tests/hostile/hostile.sh" "$build/dpvpn" "$c" $long >"$log" 2>&1 || rc=$?
  grep -E "^RESULT|KNOWN FAILURE" "$log" || true
  if ((rc == 0)); then summary+=("$c PASS")
  elif ((rc == 77)) && grep -q "KNOWN FAILURE" "$log"; then summary+=("$c KNOWN FAILURE")
  elif ((rc == 77)); then summary+=("$c SKIP"); tail -n 5 "$log" >&2
  else summary+=("$c FAIL (rc $rc, log $log)"); failed=1; grep -E "FAIL" "$log" >&2 || true; continue
  fi
  rm -f -- "$log"
done
echo "== summary"
printf '  %s\n' "${summary[@]}"
exit $failed
