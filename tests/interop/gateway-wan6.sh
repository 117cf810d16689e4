#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Outer IPv6 (`proto udp6`) on the dpvpn gateway with stock OpenVPN 2.6 clients (topology:
# gwlib.sh with IVG_WAN6=1):
#
#   netns <p>-gw: dpvpn owns 10.203.0.1 and fd00:203::1 (local twice, proto udp6), tun0 10.8.0.1
#   netns <p>-c1: wan fd00:203::11/64 (+ 10.203.0.11), openvpn proto udp6 remote fd00:203::1
#   netns <p>-c2: wan 10.203.0.12/24 (+ fd00:203::12), openvpn proto udp4 remote 10.203.0.1
#
# Cases:
#   udp6   both clients at once: each connects over its outer family (the client logs and the
#          gateway's log say which), client-connect sees trusted_ip6 / trusted_ip as openvpn
#          sets them, 20 pings each way through each tunnel with 0% loss, and the gateway
#          answered Neighbor Solicitations itself; then client1's outer IPv6 address
#          changes under the live session (fd00:203::11 -> fd00:203::111, the old one removed):
#          20 more pings with 0% loss, no new handshake (an authenticated float over IPv6)
#
# usage: gateway-wan6.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
export IVG_WAN6=1
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# pings_both_ways I COUNT: COUNT pings clientI -> gateway tun0 and gateway -> clientI's VPN address.
pings_both_ways() {
  local i=$1 count=$2 ns vpn loss
  ns=$(ivg_ns_client "$i")
  vpn=$(ivg_client_vpn_addr "$i")
  [[ -n $vpn ]] || ivp_fail "client$i has no VPN address"
  loss=$(ivp_ping "$ns" "$IVG_TUN_GW" "$count")
  [[ $loss == 0 ]] || ivp_fail "ping client$i -> $IVG_TUN_GW: ${loss}% loss"
  loss=$(ivp_ping "$IVG_NS_GW" "$vpn" "$count")
  [[ $loss == 0 ]] || ivp_fail "ping gateway -> client$i ($vpn): ${loss}% loss"
}

case_udp6() {
  local c1 old new n env1 env2
  ivg_setup "$dpvpn" 2
  cat >"$IVG_DIR/connect.sh" <<'EOF'
#!/bin/sh
env >"$(dirname "$0")/env-connect-$common_name"
exit 0
EOF
  chmod 755 "$IVG_DIR/connect.sh"
  ivg_server_conf "$IVG_DIR/server.conf" "script-security 2" "client-connect $IVG_DIR/connect.sh"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1  # IVG_WAN6: proto udp6, remote fd00:203::1
  ivg_start_client 2 proto=udp4 remote="$IVG_GW_ADDR"
  ivg_wait_client 1 || ivp_fail "client1 (outer IPv6) did not connect"
  ivg_wait_client 2 || ivp_fail "client2 (outer IPv4) did not connect"
  grep -q "link remote: \[AF_INET6\]$IVG_GW_ADDR6" "${IVG_CLIENT_LOG[1]}" ||
    ivp_fail "client1's log does not show an IPv6 link to $IVG_GW_ADDR6"
  grep -q "link remote: \[AF_INET\]$IVG_GW_ADDR" "${IVG_CLIENT_LOG[2]}" ||
    ivp_fail "client2's log does not show an IPv4 link to $IVG_GW_ADDR"
  grep -q "\[$(ivg_client_addr6 1)\]:" "$IVG_DP_LOG" || ivp_fail "the gateway did not log client1's IPv6 address"
  # openvpn's script environment: trusted_ip6 for an IPv6 peer, trusted_ip for an IPv4 one.
  env1=$IVG_DIR/env-connect-client1
  env2=$IVG_DIR/env-connect-client2
  grep -qx "trusted_ip6=$(ivg_client_addr6 1)" "$env1" || ivp_fail "client-connect: no trusted_ip6 for client1"
  ! grep -q "^trusted_ip=" "$env1" || ivp_fail "client-connect: trusted_ip set for an IPv6 client"
  grep -q "^trusted_port=[0-9]" "$env1" || ivp_fail "client-connect: no trusted_port for client1"
  grep -qx "trusted_ip=$(ivg_client_addr 2)" "$env2" || ivp_fail "client-connect: no trusted_ip for client2"

  pings_both_ways 1 20
  pings_both_ways 2 20
  ivp_log "20 pings each way through both tunnels, 0% loss"

  # The client's socket is unbound (nobind), so its next datagram leaves from the new address.
  c1=$(ivg_ns_client 1)
  old=$(ivg_client_addr6 1)
  new=fd00:203::111
  ip -n "$c1" addr add "$new/64" dev wan nodad
  ip -n "$c1" addr del "$old/64" dev wan
  grep -q "inet6 $new/" <<<"$(ip -n "$c1" -6 -o addr show dev wan)" || ivp_fail "could not move client1 to $new"
  ivp_log "client1 moved from $old to $new"
  pings_both_ways 1 20
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true)
  [[ $n == 1 ]] || ivp_fail "client1 connected $n times: the float cost a new session"
  grep -q "floated to \[$new\]:" "$IVG_DP_LOG" || ivp_fail "the gateway did not log client1's float to $new"
  pings_both_ways 2 5

  stop_and_check
  grep -Eq "nd_adverts [1-9]" "$IVG_DP_LOG" || ivp_fail "the gateway sent no Neighbor Advertisement"
  ivp_log "PASS udp6: IPv6 and IPv4 outer side by side, 0% loss both ways, IPv6 float kept the session"
}

case "$case_name" in
  udp6) case_udp6 ;;
  *) echo "usage: $0 DPVPN_EXE udp6" >&2; exit 2 ;;
esac
