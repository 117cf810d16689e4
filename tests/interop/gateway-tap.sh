#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP mode (docs/tap.md): the dpvpn gateway with `dev tap` + `server` + client-to-client, two stock
# OpenVPN 2.6 clients with `dev tap` (gwlib.sh's namespaces, IVG_DEV=tap):
#
#   netns ivg-gw: dpvpn, kernel tap0 10.8.0.1/24 (the exception port, net_tap)
#   netns ivg-c1: openvpn client1, tap0 10.8.0.2 (pushed: ifconfig 10.8.0.2 255.255.255.0,
#                 route-gateway 10.8.0.1)
#   netns ivg-c2: openvpn client2, tap0 10.8.0.3
#
# basic: ARP resolution and 10 pings in every direction (client -> gateway, gateway -> clients,
#        client -> client at L2); a broadcast ping from the gateway answered by both clients; an
#        address and then a MAC that client1 does not own dropped and counted (l2_ip_spoof,
#        l2_mac_spoof); SIGTERM -> exit 0, no mbuf leaked.
# reneg: reneg-sec 10, ~25 s of pings every 0.2 s from a tap client across two key rollovers,
#        nothing lost.
#
# usage: gateway-tap.sh DPVPN_EXE [CASE]
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-basic}
IVG_DEV=tap
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# ping_ok NS DST WHAT: 10 pings, none lost.
ping_ok() {
  local loss
  loss=$(ivp_ping "$1" "$2" 10)
  [[ $loss == 0 ]] || ivp_fail "ping $3 ($2): ${loss}% loss"
}

case_basic() {
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf" "client-to-client"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  local i c1 c2 v1 v2
  for i in 1 2; do ivg_start_client "$i"; done
  for i in 1 2; do ivg_wait_client "$i" 60 || ivp_fail "client$i did not connect"; done
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  v1=$(ivg_client_vpn_addr 1)
  v2=$(ivg_client_vpn_addr 2)
  [[ -n $v1 && -n $v2 && $v1 != "$v2" ]] || ivp_fail "clients' tap0 addresses '$v1' '$v2'"
  ivp_log "client1 $v1, client2 $v2 on tap0"

  ping_ok "$c1" "$IVG_TUN_GW" "client1 -> gateway"
  ping_ok "$c2" "$IVG_TUN_GW" "client2 -> gateway"
  ping_ok "$IVG_NS_GW" "$v1" "gateway -> client1"
  ping_ok "$IVG_NS_GW" "$v2" "gateway -> client2"
  ping_ok "$c1" "$v2" "client1 -> client2"
  ping_ok "$c2" "$v1" "client2 -> client1"
  grep -q "^$IVG_TUN_GW lladdr" <<<"$(ip -n "$c1" neigh show dev tap0)" || ivp_fail "client1 has no ARP entry for the gateway"
  ivp_log "pings: 10/10 in every direction"

  # A broadcast from the segment reaches every client (the fan-out).
  for i in 1 2; do ip netns exec "$(ivg_ns_client "$i")" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0; done
  local b
  b=$(ip netns exec "$IVG_NS_GW" ping -b -c 3 -i 0.3 -W 2 10.8.0.255 2>/dev/null || true)
  grep -q "from $v1:" <<<"$b" || ivp_fail "broadcast ping: no reply from client1: $b"
  grep -q "from $v2:" <<<"$b" || ivp_fail "broadcast ping: no reply from client2: $b"
  ivp_log "broadcast ping answered by both clients"

  # Client1 claims an address that is not its own, then client2's MAC: dropped by the gateway.
  ip -n "$c1" addr add 10.8.0.77/24 dev tap0
  ip netns exec "$c1" ping -c 2 -W 1 -I 10.8.0.77 "$IVG_TUN_GW" >/dev/null 2>&1 && ivp_fail "spoofed source 10.8.0.77 got through"
  local mac2
  mac2=$(ip -n "$c2" -o link show dev tap0 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')
  ip -n "$c1" link set dev tap0 address "$mac2"
  ip netns exec "$c1" ping -c 2 -W 1 "$IVG_TUN_GW" >/dev/null 2>&1 || true

  stop_and_check
  grep -Eq "l2_ip_spoof=[1-9]" "$IVG_DP_LOG" || ivp_fail "no l2_ip_spoof drop counted"
  grep -Eq "l2_mac_spoof=[1-9]" "$IVG_DP_LOG" || ivp_fail "no l2_mac_spoof drop counted"
  ivp_log "PASS tap basic"
}

# Two key rollovers (reneg-sec 10) under a continuous ping from a tap client: nothing lost.
case_reneg() {
  local c1 out loss n
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "reneg-sec 10"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 60 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)
  # 125 pings at 0.2 s: about 25 s, across the rollovers at ~10 s and ~20 s after connect.
  ivg_reneg_pings "$c1" "$IVG_TUN_GW"
  n=$(grep -c "Control Channel:" "${IVG_CLIENT_LOG[1]}" || true)
  ((n >= 3)) || ivp_fail "expected >= 2 renegotiations, client log shows $((n - 1))"
  ivp_log "client1: $n TLS handshakes (initial + $((n - 1)) renegotiations), no ping lost"
  stop_and_check
  ivp_log "PASS tap reneg"
}

case "$case_name" in
  basic) case_basic ;;
  reneg) case_reneg ;;
  *) echo "usage: $0 DPVPN_EXE [basic|reneg]" >&2; exit 2 ;;
esac
