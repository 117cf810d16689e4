#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs all dpvpn tests: installs missing deps, builds, runs `meson test`.
#   tools/run-tests.sh                 all suites (unit + interop; interop needs root)
#   tools/run-tests.sh --sanitize      ASan+UBSan build, unit suite only
#   tools/run-tests.sh --suite unit    one suite
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=build
opts=()
suites=()
while (($#)); do
  case "$1" in
    --sanitize) builddir=build-asan; opts+=(-Db_sanitize=address,undefined -Db_lundef=false); suites=(--suite unit) ;;
    --suite) suites+=(--suite "$2"); shift ;;
    *) echo "usage: $0 [--sanitize] [--suite NAME]" >&2; exit 2 ;;
  esac
  shift
done
tools/setup-deps.sh
if [[ ! -f $builddir/build.ninja ]]; then
  meson setup "$builddir" "${opts[@]}"
else
  meson setup --reconfigure "$builddir" "${opts[@]}" >/dev/null
fi
ninja -C "$builddir"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
meson test -C "$builddir" --print-errorlogs --num-processes 2 "${suites[@]}"
