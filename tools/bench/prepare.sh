# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by the scripts in tools/bench/ (not run on its own). It gives them one function:
#
#   bench_prepare BUILD_DIR TARGET...
#
# 1. installs what is missing through tools/setup-deps.sh (apt; idempotent; needs root or sudo);
# 2. runs `meson setup BUILD_DIR` when BUILD_DIR has no build.ninja;
# 3. runs `ninja -C BUILD_DIR TARGET...`, so that the binaries match the sources (ninja does
#    nothing when they are up to date);
# 4. fails unless every BUILD_DIR/TARGET is an executable file afterwards.
#
# TARGET is the path of a binary under BUILD_DIR, as ninja names it: dpvpn, tools/dpvpn-loadgen.
# Environment: BENCH_JOBS=N passes -j N to ninja (default: ninja's own choice);
#   BENCH_NO_BUILD=1 skips steps 1-3 (use the binaries as they are) and only checks them.
# Everything it prints goes to stderr.

bench_prepare() {
  local build=$1 src t
  shift
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    "$src/tools/setup-deps.sh" >&2 || return 1
    if [[ ! -f $build/build.ninja ]]; then
      echo "bench: meson setup $build" >&2
      meson setup "$build" "$src" >&2 || return 1
    fi
    echo "bench: ninja -C $build $*" >&2
    ninja -C "$build" ${BENCH_JOBS:+-j "$BENCH_JOBS"} "$@" >&2 || return 1
  fi
  for t; do
    if [[ ! -x $build/$t ]]; then
      echo "bench: $build/$t is missing (a build without DPDK has no dpvpn; see meson setup's output)" >&2
      return 1
    fi
  done
}
