#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Routing of the dpvpn gateway with stock OpenVPN 2.6 clients (topology: gwlib.sh).
#
#   netns <prefix>-gw: dpvpn, kernel tun0 10.8.0.1/24 and fd00:8::1/64 (server-ipv6),
#                      routes 10.77.0.0/16 and fd00:77::/48 via tun0 (server.conf route/route-ipv6)
#   netns <prefix>-c1: openvpn client, tun0 10.8.0.x and fd00:8::1000 (kernel case),
#                      + 10.77.0.5/32 (spoof case)
#
# Cases:
#   kernel  server-ipv6 / route / route-ipv6 reach the gateway's kernel: tun0 holds fd00:8::1/64,
#           10.77.0.0/16 and fd00:77::/48 route into tun0, the inner-IPv6 MSS clamp is 20 below
#           IPv4's; a client connects, gets fd00:8::1000 pushed and pings the gateway over IPv4
#           and over IPv6 inside the tunnel (both directions through the dataplane)
#   spoof   anti-spoofing by route: pings from the client's own VPN address pass; pings it sends
#           from an address that does not route back to it (10.77.0.5, no iroute) are dropped by
#           the dataplane as spoofed_src and never answered
#
# usage: gateway-routes.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

start_one_client() {
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
}

case_kernel() {
  local gw loss v6
  ivg_setup "$dpvpn" 1
  gw=$IVG_NS_GW
  ivp_log "$gw: net.ipv6.conf.default.disable_ipv6=$(ip netns exec "$gw" sysctl -n net.ipv6.conf.default.disable_ipv6)"
  ivg_server_conf "$IVG_DIR/server.conf" "server-ipv6 fd00:8::/64" "route 10.77.0.0 255.255.0.0" \
    "route-ipv6 fd00:77::/48" "mssfix 1492"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  # The listing first, then the match: `ip ... | grep -q` under pipefail fails when grep's early
  # exit makes ip die of SIGPIPE (a flake seen under load).
  [[ $(ip -n "$gw" -6 addr show dev tun0) == *"inet6 fd00:8::1/64"* ]] ||
    ivp_fail "tun0 lacks fd00:8::1/64: $(ip -n "$gw" -6 addr show dev tun0 | tr '\n' ' ')"
  grep -q "dev tun0" <<<"$(ip -n "$gw" route get 10.77.0.5)" || ivp_fail "10.77.0.0/16 does not route into tun0"
  grep -q "dev tun0" <<<"$(ip -n "$gw" -6 route get fd00:77::5)" || ivp_fail "fd00:77::/48 does not route into tun0"
  grep -q "TCP MSS clamp 1400 (IPv6 1380)" "$IVG_DP_LOG" || ivp_fail "MSS clamp values: $(grep 'MSS clamp' "$IVG_DP_LOG")"
  # The client's tun0 (created by openvpn later) needs IPv6; its wan keeps IPv6 off.
  ip netns exec "$(ivg_ns_client 1)" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
  start_one_client
  loss=$(ivp_ping "$(ivg_ns_client 1)" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping client1 -> gateway: ${loss}% loss"
  v6=$(ip -n "$(ivg_ns_client 1)" -6 -o addr show dev tun0 scope global | awk '{print $4}' | cut -d/ -f1)
  [[ $v6 == fd00:8::* ]] || ivp_fail "client1 got no IPv6 address from server-ipv6 fd00:8::/64: '$v6'"
  # Inner IPv6 both ways: the echo request is decrypted and source-checked by route (client /128),
  # the reply comes from tun0 and is routed to the client by the IPv6 table.
  loss=$(ivp_ping "$(ivg_ns_client 1)" fd00:8::1 10)
  [[ $loss == 0 ]] || ivp_fail "ping client1 ($v6) -> fd00:8::1: ${loss}% loss"
  stop_and_check
  ivp_log "PASS kernel: tun0 fd00:8::1/64, route and route-ipv6 via tun0, MSS 1400/1380, 10/10 pings over IPv4 and IPv6"
}

case_spoof() {
  local c1 loss spoofed
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  start_one_client
  c1=$(ivg_ns_client 1)
  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping from the client's own address: ${loss}% loss"
  ip -n "$c1" addr add 10.77.0.5/32 dev tun0
  loss=$(ip netns exec "$c1" ping -n -c 10 -i 0.2 -W 1 -I 10.77.0.5 "$IVG_TUN_GW" 2>&1 |
         sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p') || true
  [[ $loss == 100 ]] || ivp_fail "pings from 10.77.0.5 (not the client's) got answers: ${loss}% loss"
  stop_and_check
  spoofed=$(sed -nE 's/.*spoofed_src=([0-9]+).*/\1/p' "$IVG_DP_LOG" | head -n 1)
  [[ -n $spoofed && $spoofed -ge 10 ]] || ivp_fail "expected >= 10 spoofed_src drops, got '${spoofed}'"
  ivp_log "PASS spoof: 10/10 pings from the VPN address, 10 from 10.77.0.5 dropped (spoofed_src=$spoofed)"
}

case "$case_name" in
  kernel) case_kernel ;;
  spoof) case_spoof ;;
  *) echo "usage: $0 DPVPN_EXE kernel|spoof" >&2; exit 2 ;;
esac
