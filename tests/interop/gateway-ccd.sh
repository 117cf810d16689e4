#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-client addressing on the dpvpn gateway against stock OpenVPN 2.6 clients (gwlib.sh topology):
#
#   netns P-gw: dpvpn, tun0 10.8.0.1/24 (+ fd00:8::1/64 with server-ipv6)
#        |  br0 in P-sw
#   netns P-c1 (client1)   netns P-c2 (client2)   netns P-c3 (client3)
#   iroute case: client1 has lan0 192.168.77.1/24 (a veth) behind its tunnel
#
# Cases:
#   ccd      client-config-dir + ccd-exclusive: client1's file pushes 10.8.0.50 and a route;
#            client2 has no file (AUTH_FAILED), client3's file says `disable` (AUTH_FAILED)
#   iroute   `iroute 192.168.77.0 255.255.255.0` for client1 and `route` in server.conf: the
#            gateway pings 192.168.77.1 through the tunnel and back; client2 sending from
#            192.168.77.5 is dropped (spoofed_src counted)
#   ipv6     server-ipv6 fd00:8::/64: clients get fd00:8::1000 and ::1001 (ifconfig-ipv6), pings
#            both ways; an iroute-ipv6 fd00:77::/64 behind client1 answers the gateway
#   persist  ifconfig-pool-persist: client2 connects first (10.8.0.2); the file written at exit
#            says so; after a restart client1 connects first and gets .3, client2 gets .2 back
#   dupcn    client1's certificate in a second namespace: without duplicate-cn the first session
#            ends (HALT); with duplicate-cn both stay up with two addresses
#
# usage: gateway-ccd.sh DPVPN_EXE CASE      Exit: 0 pass, 1 fail, 77 skip (as gateway.sh).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# IPv6 on the tunnel devices the clients create from now on (gwlib turns it off in their namespaces).
tun_ipv6_on() {
  local i
  for i in "$@"; do ip netns exec "$(ivg_ns_client "$i")" sysctl -qw net.ipv6.conf.default.disable_ipv6=0; done
}

expect_loss() {  # NS ADDR COUNT WANT [ping options...]
  local ns=$1 addr=$2 count=$3 want=$4 loss
  shift 4
  loss=$({ ip netns exec "$ns" ping -n -c "$count" -i 0.2 -W 2 "$@" "$addr" 2>&1 || true; } |
    sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p')
  loss=${loss:-100}
  [[ ${loss%%.*} == "$want" ]] || ivp_fail "ping $* $addr in $ns: ${loss}% loss, expected ${want}%"
}

drop_count() {  # NAME: the exit counter's total (0 when absent)
  awk -v k="$1" '/counters \(exit\):/ { on = 1 } on { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) n = substr($i, length(k) + 2) }
    END { print n + 0 }' "$IVG_DP_LOG"
}

case_ccd() {
  ivg_setup "$dpvpn" 3
  mkdir -p "$IVG_DIR/ccd"
  printf '%s\n' "ifconfig-push 10.8.0.50 255.255.255.0" 'push "route 10.99.0.0 255.255.0.0"' \
    "comp-lzo no" >"$IVG_DIR/ccd/client1"
  echo disable >"$IVG_DIR/ccd/client3"
  echo "ifconfig-push 10.8.0.60 255.255.255.0" >"$IVG_DIR/ccd/DEFAULT"  # not enough with ccd-exclusive
  ivg_server_conf "$IVG_DIR/server.conf" "client-config-dir $IVG_DIR/ccd" "ccd-exclusive"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_start_client 2
  ivg_start_client 3
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  [[ $(ivg_client_vpn_addr 1) == 10.8.0.50 ]] || ivp_fail "client1 got '$(ivg_client_vpn_addr 1)', expected 10.8.0.50 (CCD)"
  grep -q tun0 <<<"$(ip -n "$(ivg_ns_client 1)" route show 10.99.0.0/16)" || ivp_fail "client1 has no pushed route 10.99.0.0/16"
  expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5 0
  expect_loss "$IVG_NS_GW" 10.8.0.50 5 0
  ivp_wait_log "${IVG_CLIENT_LOG[2]}" "AUTH_FAILED" 20 || ivp_fail "client2 (no CCD file) did not get AUTH_FAILED"
  ivp_wait_log "${IVG_CLIENT_LOG[3]}" "AUTH_FAILED" 20 || ivp_fail "client3 (disable) did not get AUTH_FAILED"
  grep -q "client-config-dir authentication failed for common name 'client2'" "$IVG_DP_LOG" ||
    ivp_fail "no ccd-exclusive refusal for client2 in the gateway log"
  grep -q "rejected due to 'disable' directive" "$IVG_DP_LOG" || ivp_fail "no 'disable' refusal for client3 in the gateway log"
  grep -Eq "client[23]/.*: connected" "$IVG_DP_LOG" && ivp_fail "a refused client connected"
  grep -q "'comp-lzo' ignored" "$IVG_DP_LOG" || ivp_fail "the ignored CCD line was not logged"
  stop_and_check
  ivp_log "PASS ccd"
}

case_iroute() {
  local c1 c2 spoofed
  ivg_setup "$dpvpn" 2
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  mkdir -p "$IVG_DIR/ccd"
  echo "iroute 192.168.77.0 255.255.255.0" >"$IVG_DIR/ccd/client1"
  ivg_server_conf "$IVG_DIR/server.conf" "client-config-dir $IVG_DIR/ccd" "route 192.168.77.0 255.255.255.0"
  ip -n "$c1" link add lan0 type veth peer name lan1  # no dummy module everywhere
  ip -n "$c1" link set lan1 up
  ip -n "$c1" addr add 192.168.77.1/24 dev lan0
  ip -n "$c1" link set lan0 up
  ip -n "$c2" addr add 192.168.77.5/32 dev lo
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  grep -q tun0 <<<"$(ip -n "$IVG_NS_GW" route show 192.168.77.0/24)" || ivp_fail "no kernel route 192.168.77.0/24 via tun0"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  expect_loss "$IVG_NS_GW" 192.168.77.1 10 0
  expect_loss "$c1" "$IVG_TUN_GW" 10 0 -I 192.168.77.1
  expect_loss "$c2" "$IVG_TUN_GW" 5 0
  expect_loss "$c2" "$IVG_TUN_GW" 5 100 -I 192.168.77.5
  stop_and_check
  spoofed=$(drop_count spoofed_src)
  ((spoofed >= 5)) || ivp_fail "spoofed_src=$spoofed, expected client2's 5 pings from 192.168.77.5"
  ivp_log "PASS iroute (spoofed_src=$spoofed)"
}

case_ipv6() {
  local c1 c2 a1 a2
  ivg_setup "$dpvpn" 2
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  tun_ipv6_on 1 2
  mkdir -p "$IVG_DIR/ccd"
  echo "iroute-ipv6 fd00:77::/64" >"$IVG_DIR/ccd/client1"
  ivg_server_conf "$IVG_DIR/server.conf" "server-ipv6 fd00:8::/64" "client-config-dir $IVG_DIR/ccd" \
    "route-ipv6 fd00:77::/64"
  ip -n "$c1" link add lan0 type veth peer name lan1  # no dummy module everywhere
  ip -n "$c1" link set lan1 up
  ip -n "$c1" addr add fd00:77::1/64 dev lan0 nodad
  ip -n "$c1" link set lan0 up
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_start_client 2
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  a1=$(ip -n "$c1" -6 -o addr show dev tun0 scope global | awk '{print $4}')
  a2=$(ip -n "$c2" -6 -o addr show dev tun0 scope global | awk '{print $4}')
  [[ $a1 == fd00:8::1000/64 ]] || ivp_fail "client1 has '$a1' on tun0, expected fd00:8::1000/64"
  [[ $a2 == fd00:8::1001/64 ]] || ivp_fail "client2 has '$a2' on tun0, expected fd00:8::1001/64"
  grep -q "ifconfig-ipv6 fd00:8::1000/64 fd00:8::1" "${IVG_CLIENT_LOG[1]}" || ivp_fail "client1's PUSH_REPLY has no ifconfig-ipv6"
  expect_loss "$c1" fd00:8::1 10 0
  expect_loss "$IVG_NS_GW" fd00:8::1000 10 0
  expect_loss "$IVG_NS_GW" fd00:8::1001 5 0
  expect_loss "$IVG_NS_GW" fd00:77::1 5 0
  expect_loss "$c1" fd00:8::1 5 0 -I fd00:77::1
  expect_loss "$c1" "$IVG_TUN_GW" 3 0
  stop_and_check
  ivp_log "PASS ipv6 (client1 $a1, client2 $a2)"
}

case_persist() {
  local f
  ivg_setup "$dpvpn" 2
  f=$IVG_DIR/ipp.txt  # IVG_DIR exists only from ivg_setup on
  ivg_server_conf "$IVG_DIR/server.conf" "ifconfig-pool-persist $f 600"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 2
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  [[ $(ivg_client_vpn_addr 2) == 10.8.0.2 ]] || ivp_fail "client2 got '$(ivg_client_vpn_addr 2)', expected 10.8.0.2"
  stop_and_check
  [[ -f $f ]] || ivp_fail "no $f after exit"
  grep -qx "client2,10.8.0.2," "$f" || { cat "$f" >&2; ivp_fail "$f does not say client2,10.8.0.2,"; }
  ivp_log "persist file after exit: $(tr '\n' ' ' <"$f")"
  kill -TERM "${IVP_PIDS[@]}" 2>/dev/null || true  # client2 goes too: it reconnects later
  sleep 1
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  grep -q "ifconfig-pool-persist: 1 address(es) read" "$IVG_DP_LOG" || ivp_fail "dpvpn did not read $f"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  IVG_CLIENT_LOG[2]=$IVG_DIR/client2-again.log
  ivp_run_openvpn "$(ivg_ns_client 2)" "$IVG_DIR/client2.conf" "${IVG_CLIENT_LOG[2]}"
  ivg_wait_client 2 || ivp_fail "client2 did not connect again"
  [[ $(ivg_client_vpn_addr 1) == 10.8.0.3 ]] || ivp_fail "client1 got '$(ivg_client_vpn_addr 1)', expected 10.8.0.3 (.2 is client2's)"
  [[ $(ivg_client_vpn_addr 2) == 10.8.0.2 ]] || ivp_fail "client2 got '$(ivg_client_vpn_addr 2)', expected its old 10.8.0.2"
  expect_loss "$(ivg_ns_client 2)" "$IVG_TUN_GW" 5 0
  stop_and_check
  ivp_log "PASS persist"
}

case_dupcn() {
  local dup
  for dup in no yes; do
    ivg_setup "$dpvpn" 2
    if [[ $dup == yes ]]; then ivg_server_conf "$IVG_DIR/server.conf" "duplicate-cn"
    else ivg_server_conf "$IVG_DIR/server.conf"; fi
    ivg_start_dpvpn "$IVG_DIR/server.conf"
    ivg_start_client 1
    ivg_wait_client 1 || ivp_fail "client1 did not connect"
    ivg_start_client 2 cert=client1
    ivg_wait_client 2 || ivp_fail "the second client1 (in $(ivg_ns_client 2)) did not connect"
    if [[ $dup == no ]]; then
      ivp_wait_log "${IVG_CLIENT_LOG[1]}" "Halt command was pushed by server" 10 || ivp_fail "the first client1 was not told to stop"
      grep -q "new connection by client 'client1' dropped its previous session" "$IVG_DP_LOG" ||
        ivp_fail "no duplicate-cn line in the gateway log"
      [[ $(ivg_client_vpn_addr 2) == 10.8.0.2 ]] || ivp_fail "the second client1 got '$(ivg_client_vpn_addr 2)', expected the name's 10.8.0.2"
      expect_loss "$(ivg_ns_client 2)" "$IVG_TUN_GW" 5 0
    else
      sleep 2
      grep -q "Halt command was pushed by server" "${IVG_CLIENT_LOG[1]}" && ivp_fail "duplicate-cn: the first client1 was stopped"
      [[ $(ivg_client_vpn_addr 1) != "$(ivg_client_vpn_addr 2)" ]] || ivp_fail "duplicate-cn: both got one address"
      expect_loss "$(ivg_ns_client 1)" "$IVG_TUN_GW" 5 0
      expect_loss "$(ivg_ns_client 2)" "$IVG_TUN_GW" 5 0
    fi
    stop_and_check
    ivg_cleanup
    ivp_log "dupcn: duplicate-cn $dup ok"
  done
  ivp_log "PASS dupcn"
}

case "$case_name" in
  ccd) case_ccd ;;
  iroute) case_iroute ;;
  ipv6) case_ipv6 ;;
  persist) case_persist ;;
  dupcn) case_dupcn ;;
  *) echo "usage: $0 DPVPN_EXE ccd|iroute|ipv6|persist|dupcn" >&2; exit 2 ;;
esac
