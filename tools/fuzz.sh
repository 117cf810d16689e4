#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (whole library instrumented) and runs each one for
# SECONDS (default 30) on a scratch copy of its seed corpus. Crashes are left in build-fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
tools/setup-deps.sh
if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false -Dtests=disabled >/dev/null
fi
ninja -C build-fuzz $(cd build-fuzz && ninja -t targets all | sed -n 's/^\(tests\/fuzz\/fuzz_[a-z_]*\): .*/\1/p' | sort -u)
mkdir -p build-fuzz/crashes
rc=0
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [[ -x $bin && ! -d $bin ]] || continue
  t=${bin##*/fuzz_}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  echo "== fuzz_$t (${secs}s)"
  if ! "$bin" -max_total_time="$secs" -artifact_prefix=build-fuzz/crashes/"$t"- "$work" 2>&1 | tail -2; then rc=1; fi
  rm -rf "$work"
done
exit $rc
