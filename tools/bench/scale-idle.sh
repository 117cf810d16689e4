#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scale check (not part of CI): N idle clients on a /16 pool against dpvpn, then one stock
# openvpn client on top, pinging through. Emulated clients come from dpvpn-loadgen processes of
# at most PER sessions each (one UDP socket per session; the fd limit here may be 20 000).
# Topology and cleanup: tests/interop/gwlib.sh (namespaces <IVG_PREFIX>-*; default prefix scl).
#
# Needs root. Like compare.sh, it first installs what is missing (tools/setup-deps.sh) and builds
# dpvpn and dpvpn-loadgen in BUILD_DIR (meson setup if it has no build.ninja; BENCH_NO_BUILD=1 skips
# this, BENCH_JOBS=N is ninja's -j).
#
# usage: tools/bench/scale-idle.sh [BUILD_DIR] [N] [PER] [RATE]
#   defaults: build 60000 15000 100 (new clients per second in total)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case ${1:-} in -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;; esac
build=${1:-$root/build}
[[ $build == /* ]] || build=$PWD/$build
# shellcheck source=tools/bench/prepare.sh
source "$root/tools/bench/prepare.sh"
bench_prepare "$build" dpvpn tools/dpvpn-loadgen || { echo "scale-idle: could not build what it runs" >&2; exit 1; }
n=${2:-60000}
per=${3:-15000}
rate=${4:-100}
export IVG_PREFIX=${IVG_PREFIX:-scl}
# shellcheck source-path=SCRIPTDIR
source "$root/tests/interop/gwlib.sh"

ivg_setup "$build/dpvpn" 1
ivg_server_conf "$IVG_DIR/server.conf" "server 10.8.0.0 255.255.0.0" "max-clients $((n + 100))" "duplicate-cn" "dp-contact-rate 0" \
  "keepalive 10 1800" "verb 3"  # the emulated clients send no keepalives: a long ping-restart
ivg_start_dpvpn "$IVG_DIR/server.conf"
c1=$(ivg_ns_client 1)
ip netns exec "$c1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
k=$(((n + per - 1) / per))
stagger=$((1000 * k / rate))
t0=$(date +%s)
for ((j = 0; j < k; j++)); do
  m=$((n - j * per < per ? n - j * per : per))
  ivp_run "$c1" "$IVG_DIR/lg$j.log" "$build/tools/dpvpn-loadgen" --remote "$IVG_GW_ADDR:$IVP_PORT" \
    --pki "$IVP_PKI" --bind "$(ivg_client_addr 1)" --wrap tls-crypt --ciphers AES-256-GCM \
    --clients "$m" --stagger-ms "$stagger" --reverse --duration 7200
done
ivp_log "$k loadgen process(es), $n clients at $rate/s in total"
for ((j = 0; j < k; j++)); do
  ivp_wait_log "$IVG_DIR/lg$j.log" "established [0-9]+/[0-9]+ sessions" $((n / rate + 300)) ||
    ivp_fail "loadgen $j: no 'established' line"
  grep -m1 -oE "established [0-9]+/[0-9]+ sessions in [0-9]+ ms" "$IVG_DIR/lg$j.log"
done
t1=$(date +%s)
up=$(grep -hoE "established [0-9]+/" "$IVG_DIR"/lg*.log | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}')
rss=$(awk '/VmRSS/ {print $2}' "/proc/$IVG_DP_PID/status")
ivp_log "$up of $n sessions up in $((t1 - t0)) s; dpvpn RSS $((rss / 1024)) MiB = $((rss / (up > 0 ? up : 1))) KiB per client"

# One more, a stock openvpn client: it must get an address beyond the first /24 and pass traffic.
ivg_start_client 1
ivg_wait_client 1 60 || ivp_fail "the stock client did not connect next to $up sessions"
vpn=$(ivg_client_vpn_addr 1)
loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 20)
ivp_log "stock client: VPN address $vpn, ping loss ${loss}%"
[[ $loss == 0 ]] || ivp_fail "stock client pings lost ${loss}%"
ivg_stop_dpvpn
ivg_print_counters | tail -4
ivp_log "PASS scale-idle: $up/$n idle sessions + 1 stock client ($vpn)"
