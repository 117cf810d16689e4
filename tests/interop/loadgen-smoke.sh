#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dpvpn-loadgen and dpvpn-udp against the dpvpn gateway, CI-sized: 4 emulated clients each way.
#
#                       netns ivg-sw: bridge br0
#          +-------------------------+-------------------------+
#   netns ivg-gw                              netns ivg-c1
#   dpvpn on gw-wan (10.203.0.1, UDP 1194)    wan 10.203.0.11
#   kernel tun0 10.8.0.1/24                   dpvpn-loadgen: 4 sessions, one UDP socket each,
#   dpvpn-udp sink 10.8.0.1:9000  (forward)   VPN addresses 10.8.0.x pushed by dpvpn
#   dpvpn-udp source -> 10.8.0.x:9000 (reverse)
#
# forward: loadgen --clients 4 --size 512 --rate 2000 --duration 3; all 4 sessions up, and the
#          sink receives >= 90% of what the loadgen sent.
# reverse: loadgen --reverse; dpvpn-udp source sends 2000 pps for 3 s to the 4 VPN addresses;
#          the loadgen decrypts >= 90% of what the source sent.
# Then SIGTERM: dpvpn exits 0 within 10 s.
#
# usage: loadgen-smoke.sh DPVPN_EXE LOADGEN_EXE UDP_EXE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
loadgen=${2:-}
udp=${3:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

[[ -x $loadgen && -x $udp ]] || { ivp_log "usage: $0 DPVPN_EXE LOADGEN_EXE UDP_EXE"; exit 2; }

# json_num FILE KEY: the number KEY holds in the one-line JSON object in FILE (empty if none).
json_num() {
  grep -h '^{' "$1" | tail -n 1 | sed -nE "s/.*\"$2\":([0-9.]+).*/\1/p"
}

# at_least A B PCT: 0 when A >= B * PCT / 100 and B > 0.
at_least() {
  awk -v a="${1:-0}" -v b="${2:-0}" -v p="$3" 'BEGIN { exit !(b > 0 && a >= b * p / 100) }'
}

# forget PID: it has been reaped; keep the cleanup from signalling a pid that may be reused.
forget() {
  local keep=() pid
  for pid in "${IVP_PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  IVP_PIDS=("${keep[@]}")
}

ivg_setup "$dpvpn" 1
ivg_server_conf "$IVG_DIR/server.conf" "duplicate-cn" "dp-contact-rate 0"  # one certificate, one address
ivg_start_dpvpn "$IVG_DIR/server.conf"
c1=$(ivg_ns_client 1)
remote=$IVG_GW_ADDR:$IVP_PORT

# --- forward: loadgen -> dpvpn -> tun0 -> sink ---
ivp_run "$IVG_NS_GW" "$IVG_DIR/sink.log" "$udp" sink --bind "$IVG_TUN_GW:9000" --json
sink_pid=$IVP_LAST_PID
ivp_wait_log "$IVG_DIR/sink.log" "sink listening" 10 || ivp_fail "dpvpn-udp sink did not start"
IVP_LOGS+=("$IVG_DIR/fwd.err")
rc=0
ip netns exec "$c1" timeout 60 "$loadgen" --remote "$remote" --pki "$IVP_PKI" --clients 4 --size 512 \
  --rate 2000 --duration 3 --json >"$IVG_DIR/fwd.json" 2>"$IVG_DIR/fwd.err" || rc=$?
sleep 0.5  # the last packets through the gateway
kill -TERM "$sink_pid"
wait "$sink_pid" || true
forget "$sink_pid"
cat "$IVG_DIR/fwd.json" "$IVG_DIR/sink.log"
[[ $rc == 0 ]] || ivp_fail "dpvpn-loadgen (forward) exit status $rc"
est=$(json_num "$IVG_DIR/fwd.json" sessions_established)
sent=$(json_num "$IVG_DIR/fwd.json" tx_packets)
got=$(json_num "$IVG_DIR/sink.log" packets)
[[ $est == 4 ]] || ivp_fail "forward: $est of 4 sessions established"
at_least "$sent" 4800 100 || ivp_fail "forward: the loadgen sent only $sent packets (2000 pps for 3 s: ~6000)"
at_least "$got" "$sent" 90 || ivp_fail "forward: the sink received $got of $sent packets (< 90%)"
ivp_log "forward: 4/4 sessions, loadgen sent $sent, sink received $got"

# --- reverse: source -> tun0 -> dpvpn -> loadgen ---
ivp_run "$c1" "$IVG_DIR/rev.log" "$loadgen" --remote "$remote" --pki "$IVP_PKI" --clients 4 --reverse \
  --duration 6 --json
lg_pid=$IVP_LAST_PID
ivp_wait_log "$IVG_DIR/rev.log" "established 4/4 sessions" 30 || ivp_fail "reverse: the 4 sessions did not come up"
addrs=$(sed -nE 's/.*established 4\/4 sessions.*vpn addresses: ([0-9.,]+).*/\1/p' "$IVG_DIR/rev.log")
ivp_log "reverse: VPN addresses $addrs"
ip netns exec "$IVG_NS_GW" timeout 30 "$udp" source --dst "$addrs" --port 9000 --size 512 --rate 2000 \
  --duration 3 --json >"$IVG_DIR/src.json" 2>&1 || ivp_fail "dpvpn-udp source failed: $(cat "$IVG_DIR/src.json")"
rc=0
wait "$lg_pid" || rc=$?
forget "$lg_pid"
cat "$IVG_DIR/src.json" "$IVG_DIR/rev.log"
[[ $rc == 0 ]] || ivp_fail "dpvpn-loadgen (reverse) exit status $rc"
sent=$(json_num "$IVG_DIR/src.json" packets)
got=$(json_num "$IVG_DIR/rev.log" rx_packets)
bad=$(json_num "$IVG_DIR/rev.log" rx_decrypt_failures)
at_least "$sent" 4800 100 || ivp_fail "reverse: the source sent only $sent packets (2000 pps for 3 s: ~6000)"
at_least "$got" "$sent" 90 || ivp_fail "reverse: the loadgen received $got of $sent packets (< 90%)"
[[ $bad == 0 ]] || ivp_fail "reverse: $bad packets failed to decrypt"
ivp_log "reverse: source sent $sent, loadgen received and decrypted $got"

ivg_stop_dpvpn
ivg_print_counters
[[ $IVG_DP_RC == 0 ]] || ivp_fail "dpvpn exit status $IVG_DP_RC after SIGTERM (124: not within 10 s)"
ivp_log "PASS loadgen smoke"
