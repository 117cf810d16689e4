#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dpvpn gateway (DPDK, af_packet WAN port) serving stock OpenVPN 2.6 clients over a bridge.
#
#                       netns ivg-sw: bridge br0
#          +------------------+------------------+-- ... --+
#   netns ivg-gw               netns ivg-c1               netns ivg-cN
#   dpvpn on gw-wan            wan 10.203.0.11            wan 10.203.0.(10+N)
#   (owns 10.203.0.1, UDP 1194) openvpn client1 -> tun0   openvpn clientN -> tun0
#   kernel tun0 10.8.0.1/24    10.8.0.x (pushed)          10.8.0.y
#
# Cases:
#   basic  1 client: 50 pings each way through the tunnel, iperf3 TCP 3 s, SIGTERM ->
#          exit 0 in 10 s, client sees the server-pushed restart, no mbuf leaked
#   eight  8 clients at once, 10 concurrent pings each, distinct VPN addresses
#   six    the same with 6 workers on 2 CPUs: 4 exception-port queues, workers 4-5 relay to 0-1
#   reneg  reneg-sec 10, ~25 s of pings every 0.2 s across two key rollovers, nothing lost
#   renegbytes  the gateway's own reneg-bytes (the client has none): ~1 MB of pings start at
#          least two renegotiations from the server side, nothing lost
#
# usage: gateway.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# Shared tail of every case: SIGTERM, exit status, counters, mbuf balance.
case_basic() {
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "status $IVG_DIR/status.csv 1" "status-version 2"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  local c1 vpn loss rate
  c1=$(ivg_ns_client 1)
  vpn=$(ivg_client_vpn_addr 1)
  [[ $vpn == 10.8.0.2 ]] || ivp_fail "client1 got VPN address '$vpn', expected 10.8.0.2"

  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 50)
  [[ $loss == 0 ]] || ivp_fail "ping client1 -> $IVG_TUN_GW: ${loss}% loss"
  loss=$(ivp_ping "$IVG_NS_GW" "$vpn" 50)
  [[ $loss == 0 ]] || ivp_fail "ping $IVG_NS_GW -> $vpn over tun0: ${loss}% loss"
  ivp_log "pings: 50/50 client -> gateway, 50/50 gateway -> client"

  ivp_run "$IVG_NS_GW" "$IVG_DIR/iperf-s.log" iperf3 -s -1 --forceflush -B "$IVG_TUN_GW"
  ivg_wait_listen "$IVG_NS_GW" 5201 10 || ivp_fail "iperf3 server did not start"
  ip netns exec "$c1" timeout 20 iperf3 -c "$IVG_TUN_GW" -t 3 -f m >"$IVG_DIR/iperf-c.log" 2>&1 || {
    IVP_LOGS+=("$IVG_DIR/iperf-c.log")
    ivp_fail "iperf3 through the tunnel failed"
  }
  cat "$IVG_DIR/iperf-c.log"
  rate=$(awk '/receiver/ {print $(NF-2)}' "$IVG_DIR/iperf-c.log")
  awk -v r="${rate:-0}" 'BEGIN { exit !(r > 0) }' || ivp_fail "iperf3 reported no throughput"
  ivp_log "iperf3 TCP client1 -> gateway: $rate Mbits/sec"

  # `status FILE 1` with status-version 2: openvpn's CSV client list, rewritten every second.
  sleep 1.5
  local st
  st=$(grep "^CLIENT_LIST,client1,$(ivg_client_addr 1):[0-9]*,10.8.0.2," "$IVG_DIR/status.csv") ||
    { IVP_LOGS+=("$IVG_DIR/status.csv"); ivp_fail "status file has no CLIENT_LIST row for client1"; }
  awk -F, '{ exit !($6 > 1000000 && $7 > 0) }' <<<"$st" || ivp_fail "status file byte counts look wrong: $st"
  grep -q "^ROUTING_TABLE,10.8.0.2,client1," "$IVG_DIR/status.csv" || ivp_fail "status file has no ROUTING_TABLE row"
  ivp_log "status: $st"

  stop_and_check
  grep -q "^END$" "$IVG_DIR/status.csv" || ivp_fail "status file not complete after exit"
  ivp_wait_log "${IVG_CLIENT_LOG[1]}" "SIGUSR1\[soft,server-pushed-connection-reset\]" 10 ||
    ivp_fail "client1 did not see the server-pushed restart"
  ivp_log "PASS basic"
}

case_eight() {
  local n=8 i loss vpns=() pids=()
  ivg_setup "$dpvpn" "$n"
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  for ((i = 1; i <= n; i++)); do ivg_start_client "$i"; done
  for ((i = 1; i <= n; i++)); do ivg_wait_client "$i" 60 || ivp_fail "client$i did not connect"; done

  for ((i = 1; i <= n; i++)); do
    ivp_ping "$(ivg_ns_client "$i")" "$IVG_TUN_GW" 10 >"$IVG_DIR/loss$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for ((i = 1; i <= n; i++)); do
    loss=$(<"$IVG_DIR/loss$i")
    [[ $loss == 0 ]] || ivp_fail "ping client$i -> $IVG_TUN_GW: ${loss}% loss"
    vpns+=("$(ivg_client_vpn_addr "$i")")
    [[ -n ${vpns[i - 1]} ]] || ivp_fail "client$i has no address on tun0"
  done
  ivp_log "VPN addresses: ${vpns[*]}"
  [[ $(printf '%s\n' "${vpns[@]}" | sort -u | wc -l) == "$n" ]] || ivp_fail "VPN addresses not distinct"
  grep -c ": connected, VPN address" "$IVG_DP_LOG" | grep -qx "$n" || ivp_fail "dpvpn did not log $n connections"

  stop_and_check
  ivp_log "PASS eight: $n clients, 10/10 pings each"
}

# Six workers on two CPUs (EAL --lcores '(0-5)@(0-1)', af_packet qpairs=6): the exception port has
# four queues, so clients owned by workers 4 and 5 reach the kernel through workers 0 and 1.
case_six() {
  IVG_DP_LCORES='(0-5)@(0-1)' IVG_DP_QPAIRS=6 case_eight
  grep -q "exception port .* 4 queue(s)), 6 worker lcore(s)" "$IVG_DP_LOG" || ivp_fail "dpvpn did not start 6 workers with 4 exception queues"
  ivp_log "PASS six: 6 workers, 4 exception-port queues"
}

case_reneg() {
  local c1 out loss n
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)

  # 125 pings at 0.2 s: about 25 s, across the rollovers at ~10 s and ~20 s after connect.
  ivg_reneg_pings "$c1" "$IVG_TUN_GW"

  # The client logs one "Control Channel:" line per TLS handshake: initial + 2 renegotiations.
  n=$(grep -c "Control Channel:" "${IVG_CLIENT_LOG[1]}" || true)
  ((n >= 3)) || ivp_fail "expected >= 2 renegotiations, client log shows $((n - 1))"
  ivp_log "client1: $n TLS handshakes (initial + $((n - 1)) renegotiations), no ping lost"

  stop_and_check
  ivp_log "PASS reneg"
}

case_renegbytes() {
  local c1 out loss n
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "reneg-bytes 300000" "reneg-sec 0"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1 extra="reneg-sec 0"
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)

  # 300 pings of 1400 bytes both ways: ~850 kB of data channel, ~2.8 x reneg-bytes.
  out=$(ip netns exec "$c1" ping -n -c 300 -i 0.02 -s 1400 -W 2 "$IVG_TUN_GW" 2>&1) || true
  tail -n 3 <<<"$out"
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  [[ $loss == 0 ]] || ivp_fail "ping across byte-triggered renegotiations: ${loss:-100}% loss"
  sleep 1
  n=$(grep -c "Control Channel:" "${IVG_CLIENT_LOG[1]}" || true)
  ((n >= 3)) || ivp_fail "expected >= 2 renegotiations started by reneg-bytes, client log shows $((n - 1))"
  stop_and_check
  ivp_log "PASS renegbytes: $n TLS handshakes (initial + $((n - 1)) by reneg-bytes), no ping lost"
}

case "$case_name" in
  basic) case_basic ;;
  eight) case_eight ;;
  six) case_six ;;
  reneg) case_reneg ;;
  renegbytes) case_renegbytes ;;
  *) echo "usage: $0 DPVPN_EXE basic|eight|six|reneg|renegbytes" >&2; exit 2 ;;
esac
