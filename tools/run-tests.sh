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
    # -O1 with line tables only: about the speed ASan wants, and a much shorter compile than
    # debugoptimized's -O2 -g on a 2-core CI machine (the build is most of this pass's time).
    --sanitize) builddir=build-asan
      opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Ddebug=true -Doptimization=1 "-Dcpp_args=-g1 -fno-omit-frame-pointer")
      suites=(--suite unit) ;;
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
if [[ $builddir == build-asan ]]; then
  # Only what the unit suite runs (the DPDK binaries and tools are not exercised under ASan).
  mapfile -t targets < <(meson introspect --tests "$builddir" | python3 -c '
import json, os, sys
b = os.path.abspath(sys.argv[1])
for t in json.load(sys.stdin):
    if "unit" in t["suite"] or any(s.endswith(":unit") for s in t["suite"]):
        exe = t["cmd"][0]
        if exe.startswith(b + "/"):
            print(os.path.relpath(exe, b))' "$builddir")
  ninja -C "$builddir" "${targets[@]}"
  nobuild=--no-rebuild
else
  ninja -C "$builddir"
  nobuild=
fi
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
meson test -C "$builddir" $nobuild --print-errorlogs --num-processes 2 "${suites[@]}" 2>&1 | tee "$log" || rc=$?
ok=$(sed -nE 's/^Ok:[[:space:]]+([0-9]+).*/\1/p' "$log" | tail -1)
fail=$(sed -nE 's/^Fail:[[:space:]]+([0-9]+).*/\1/p' "$log" | tail -1)
skip=$(sed -nE 's/^Skipped:[[:space:]]+([0-9]+).*/\1/p' "$log" | tail -1)
echo "${ok:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$rc"
