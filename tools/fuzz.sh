#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (whole library instrumented) and runs each one on a
# scratch copy of its seed corpus, one after the other. Crashes are left in build-fuzz/crashes.
#   tools/fuzz.sh [SECONDS] [TARGET...]         each target for SECONDS (default 30)
#   tools/fuzz.sh --runs N [TARGET...]          each target for N executions (the issue 11
#                                               campaign: --runs 10000000, see docs/bench/fuzz.md)
# TARGET is a name under tests/fuzz/corpus (server_front, session_seq, gateway_lifecycle, ...); default:
# all (gateway_lifecycle only where DPDK is found).
# Prints libFuzzer's last lines per target (executions, cov, ft, exec/s) and the wall time.
# ASAN_OPTIONS defaults to a cheaper allocator setup (short malloc stacks, no malloc fill, a
# 16 MB quarantine: about twice the executions per second); set it to override. UBSan findings
# stop the run like a crash (UBSAN_OPTIONS=halt_on_error=1).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time="${1:-30}")
if [[ ${1:-} == --runs ]]; then
  limit=(-runs="$2")
  shift 2
elif [[ $# -gt 0 ]]; then
  shift
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=2:max_malloc_fill_size=0:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}  # undefined behaviour is a crash
tools/setup-deps.sh
if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false -Dtests=disabled >/dev/null
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cd build-fuzz && ninja -t targets all | sed -n 's/^tests\/fuzz\/fuzz_\([a-z_0-9]*\): .*/\1/p' | sort -u)
fi
ninja -C build-fuzz "${targets[@]/#/tests/fuzz/fuzz_}"
mkdir -p build-fuzz/crashes
rc=0
for t in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/fuzz_$t
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  echo "== fuzz_$t (${limit[*]})"
  start=$(date +%s)
  set +e
  "$bin" "${limit[@]}" -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/"$t"- "$work" 2>&1 |
    grep -E '^#[0-9]+\s+(DONE|INITED)|^stat::number_of_executed_units|^stat::peak_rss|ERROR|SUMMARY|Test unit written'
  st=${PIPESTATUS[0]}
  set -e
  [[ $st -eq 0 ]] || rc=1
  echo "wall_s: $(( $(date +%s) - start ))"
  rm -rf "$work"
done
exit $rc
