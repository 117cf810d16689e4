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
# bridge and dhcp: `server-bridge`, the gateway's tap0 bridged by its `up` script with a host
# namespace behind the gateway (client-to-client on):
#
#   netns ivg-gw:   dpvpn; bridge br-lan (10.8.0.1/24 with bridge, no address with dhcp), ports
#                   tap0 (the exception port, added by `up`) and gw-lan
#   netns ivg-host: lan 10.8.0.10/24 (veth peer of gw-lan); with dhcp, dnsmasq on lan handing
#                   out 10.8.0.100 .. 10.8.0.149
#   netns ivg-cI:   openvpn clientI, tap0: pushed 10.8.0.50 / .51 (bridge), by DHCP (dhcp)
#
# bridge: server-bridge 10.8.0.1 255.255.255.0 10.8.0.50 10.8.0.99: `up` gets no addresses, tap0
#         has none; ARP resolution and 5 pings in every direction between the clients, the
#         gateway's bridge and the host; a broadcast ping from the host answered by both clients
#         and the bridge, one from client1 by client2 and the host; frames of ethertype 0x88B5 (not IP) from client1 to the host and from
#         the host to client2 (tests/interop/rawframe.py).
# dhcp:   server-bridge nogw: nothing pushed; each client runs busybox udhcpc on tap0 (with its
#         own event script: the address only) and gets a lease from dnsmasq through the tunnel
#         and the bridge; then 5 pings client <-> host and client <-> client.
#
# usage: gateway-tap.sh DPVPN_EXE [basic|reneg|bridge|dhcp]
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, DPDK/af_packet or a tool missing:
# python3 for bridge, dnsmasq and busybox for dhcp).
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

# --- server-bridge: the segment behind the gateway -----------------------------------------------
IVG_NS_HOST=$IVG_PREFIX-host
HOST_ADDR=10.8.0.10
RAWFRAME=$(dirname "$0")/rawframe.py
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

if_mac() { ip -n "$1" -o link show dev "$2" | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'; }

# bridge_segment [GW_CIDR]: br-lan in the gateway's namespace (with GW_CIDR, if given), a veth to
# the host namespace's lan ($HOST_ADDR/24), IPv6 off on both sides; the `up` script that bridges
# tap0 (and writes its arguments to up.args). Before dpvpn starts.
bridge_segment() {
  local gw_cidr=${1:-}
  _ivg_no_ipv6 "$IVG_NS_GW"
  ip netns add "$IVG_NS_HOST"
  _ivg_no_ipv6 "$IVG_NS_HOST"
  ip -n "$IVG_NS_HOST" link set lo up
  ip -n "$IVG_NS_GW" link add br-lan type bridge stp_state 0 forward_delay 0
  ip link add gw-lan netns "$IVG_NS_GW" type veth peer name lan netns "$IVG_NS_HOST"
  ip -n "$IVG_NS_GW" link set gw-lan master br-lan up
  ip -n "$IVG_NS_GW" link set br-lan up
  [[ -z $gw_cidr ]] || ip -n "$IVG_NS_GW" addr add "$gw_cidr" dev br-lan
  ip -n "$IVG_NS_HOST" addr add "$HOST_ADDR/24" dev lan
  ip -n "$IVG_NS_HOST" link set lan up
  cat >"$IVG_DIR/up.sh" <<'UP'
#!/bin/sh
# dpvpn's up with server-bridge: DEV TUN_MTU 0 "" "" init (no addresses); DEV joins the bridge.
printf '[%s]' "$@" >"$(dirname "$0")/up.args"
ip link set "$1" master br-lan && ip link set "$1" up
UP
  chmod 755 "$IVG_DIR/up.sh"
}

# check_bridged: `up` ran with empty address words and tap0 is a port of br-lan without an address.
check_bridged() {
  local args link
  args=$(cat "$IVG_DIR/up.args" 2>/dev/null || true)
  [[ $args == "[tap0][1500][0][][][init]" ]] || ivp_fail "up script arguments: '$args'"
  link=$(ip -n "$IVG_NS_GW" -o link show dev tap0)
  grep -q "master br-lan" <<<"$link" || ivp_fail "tap0 is not in br-lan: $link"
  [[ -z $(ip -n "$IVG_NS_GW" -4 -o addr show dev tap0) ]] || ivp_fail "tap0 has an IPv4 address with server-bridge"
  ivp_log "up: $args; tap0 bridged in br-lan, no address"
}

# ping_n NS DST WHAT: 5 pings 0.2 s apart, none lost. `-w 5` waits up to 5 s for every reply
# (ping's -W alone stops two round trips after the last request: a late reply on a loaded
# machine would count as lost).
ping_n() {
  local out loss
  out=$(ip netns exec "$1" ping -n -c 5 -i 0.2 -w 5 "$2" 2>&1) || true
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  [[ $loss == 0 ]] || ivp_fail "ping $3 ($2): ${loss:-100}% loss: $out"
}

# raw_cross FROM_NS FROM_IF TO_NS TO_IF WHAT: frames of ethertype 0x88B5 sent from FROM_IF to
# TO_IF's MAC (3, 0.2 s apart, once the receiver is bound) arrive on TO_IF within 10 s.
raw_cross() {
  local out=$IVG_DIR/raw-$5.out mac pid i
  mac=$(if_mac "$3" "$4")
  ip netns exec "$3" "$PY" "$RAWFRAME" recv "$4" 88b5 "dpvpn-$5" 10 >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < 100; i++)); do grep -q ready "$out" 2>/dev/null && break; sleep 0.1; done
  ((i < 100)) || ivp_fail "rawframe receiver ($5) not ready within 10 s: $(cat "$out")"
  ip netns exec "$1" "$PY" "$RAWFRAME" send "$2" "$mac" 88b5 "dpvpn-$5" 3 || ivp_fail "rawframe send ($5) failed"
  wait "$pid" || ivp_fail "non-IP frame $5: $(cat "$out")"
  ivp_log "ethertype 0x88b5 $5: $(grep got "$out")"
}

start_bridge_clients() {
  local i
  for i in 1 2; do ivg_start_client "$i"; done
  for i in 1 2; do ivg_wait_client "$i" 60 || ivp_fail "client$i did not connect"; done
}

case_bridge() {
  local c1 c2 v1 v2 b i
  command -v "$PY" >/dev/null 2>&1 || { ivp_log "SKIP: python3 not installed"; exit 77; }
  ivg_setup "$dpvpn" 2
  bridge_segment "$IVG_TUN_GW/24"
  IVG_SERVER_LINE="server-bridge $IVG_TUN_GW 255.255.255.0 10.8.0.50 10.8.0.99"
  ivg_server_conf "$IVG_DIR/server.conf" "client-to-client" "script-security 2" "up $IVG_DIR/up.sh"
  IVG_READY_IF=br-lan ivg_start_dpvpn "$IVG_DIR/server.conf"
  check_bridged
  start_bridge_clients
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  v1=$(ivg_client_vpn_addr 1)
  v2=$(ivg_client_vpn_addr 2)
  [[ $v1 == 10.8.0.5[01] && $v2 == 10.8.0.5[01] && $v1 != "$v2" ]] ||
    ivp_fail "clients' tap0 addresses '$v1' '$v2' (pool from 10.8.0.50)"
  grep -q "route-gateway $IVG_TUN_GW" "${IVG_CLIENT_LOG[1]}" || ivp_fail "client1 was not pushed route-gateway $IVG_TUN_GW"
  ivp_log "client1 $v1, client2 $v2 on tap0 (server-bridge pool)"

  ping_n "$c1" "$IVG_TUN_GW" "client1 -> bridge"
  ping_n "$c2" "$IVG_TUN_GW" "client2 -> bridge"
  ping_n "$c1" "$HOST_ADDR" "client1 -> host"
  ping_n "$c2" "$HOST_ADDR" "client2 -> host"
  ping_n "$c1" "$v2" "client1 -> client2"
  ping_n "$c2" "$v1" "client2 -> client1"
  ping_n "$IVG_NS_HOST" "$v1" "host -> client1"
  ping_n "$IVG_NS_HOST" "$v2" "host -> client2"
  ping_n "$IVG_NS_GW" "$v1" "bridge -> client1"
  ping_n "$IVG_NS_GW" "$v2" "bridge -> client2"
  ping_n "$IVG_NS_HOST" "$IVG_TUN_GW" "host -> bridge"
  # ARP resolved the real MACs both ways across the tunnel.
  grep -q "^$HOST_ADDR lladdr $(if_mac "$IVG_NS_HOST" lan)" <<<"$(ip -n "$c1" neigh show dev tap0)" ||
    ivp_fail "client1 has no ARP entry with the host's MAC"
  grep -q "^$v2 lladdr $(if_mac "$c2" tap0)" <<<"$(ip -n "$IVG_NS_HOST" neigh show dev lan)" ||
    ivp_fail "the host has no ARP entry with client2's MAC"
  ivp_log "pings: 5/5 in every direction; ARP entries carry the real MACs"

  # A broadcast from the host reaches both clients through the bridge and the fan-out: requests
  # every 0.3 s for 3 s (a deadline, not a count: each request has three answers).
  for i in 1 2; do ip netns exec "$(ivg_ns_client "$i")" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0; done
  ip netns exec "$IVG_NS_GW" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
  b=$(ip netns exec "$IVG_NS_HOST" ping -n -b -i 0.3 -w 3 10.8.0.255 2>/dev/null || true)
  grep -q "from $v1:" <<<"$b" || ivp_fail "broadcast ping: no reply from client1: $b"
  grep -q "from $v2:" <<<"$b" || ivp_fail "broadcast ping: no reply from client2: $b"
  grep -q "from $IVG_TUN_GW:" <<<"$b" || ivp_fail "broadcast ping: no reply from the bridge: $b"
  ivp_log "broadcast ping from the host answered by both clients and the bridge"
  # And one from client1 (client-to-client at L2): the other client and the host answer.
  ip netns exec "$IVG_NS_HOST" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
  b=$(ip netns exec "$c1" ping -n -b -i 0.3 -w 3 10.8.0.255 2>/dev/null || true)
  grep -q "from $v2:" <<<"$b" || ivp_fail "broadcast ping from client1: no reply from client2: $b"
  grep -q "from $HOST_ADDR:" <<<"$b" || ivp_fail "broadcast ping from client1: no reply from the host: $b"
  ivp_log "broadcast ping from client1 answered by client2 and the host"

  raw_cross "$c1" tap0 "$IVG_NS_HOST" lan client1-to-host
  raw_cross "$IVG_NS_HOST" lan "$c2" tap0 host-to-client2

  stop_and_check
  ivp_log "PASS tap bridge"
}

case_dhcp() {
  local c1 c2 v1 v2 i ns
  for i in dnsmasq busybox; do command -v "$i" >/dev/null 2>&1 || { ivp_log "SKIP: $i not installed"; exit 77; }; done
  ivg_setup "$dpvpn" 2
  bridge_segment
  # dnsmasq: DHCP only (no DNS, no config file, no router option), its files in the scratch dir.
  ivp_run "$IVG_NS_HOST" "$IVG_DIR/dnsmasq.out" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --no-resolv --no-hosts --no-ping --interface=lan --bind-interfaces --dhcp-authoritative \
    --dhcp-range=10.8.0.100,10.8.0.149,255.255.255.0,120 --dhcp-option=option:router \
    --dhcp-leasefile="$IVG_DIR/dnsmasq.leases" --pid-file="$IVG_DIR/dnsmasq.pid" \
    --log-facility="$IVG_DIR/dnsmasq.log" --log-dhcp --user=root
  ivp_wait_log "$IVG_DIR/dnsmasq.log" "DHCP, IP range" 10 || ivp_fail "dnsmasq did not start: $(cat "$IVG_DIR/dnsmasq.out")"
  cat >"$IVG_DIR/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
# udhcpc's event script for the test: the leased address on the interface, nothing else.
case $1 in
  bound | renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
SCRIPT
  chmod 755 "$IVG_DIR/udhcpc.sh"
  IVG_SERVER_LINE="server-bridge nogw"
  ivg_server_conf "$IVG_DIR/server.conf" "client-to-client" "script-security 2" "up $IVG_DIR/up.sh"
  IVG_READY_ADDR="" ivg_start_dpvpn "$IVG_DIR/server.conf"
  check_bridged
  start_bridge_clients
  for i in 1 2; do
    ns=$(ivg_ns_client "$i")
    [[ -z $(ivg_client_vpn_addr "$i") ]] || ivp_fail "client$i got an address pushed with server-bridge nogw"
    ip -n "$ns" link set tap0 up
    timeout 30 ip netns exec "$ns" busybox udhcpc -i tap0 -f -q -n -t 10 -T 1 -s "$IVG_DIR/udhcpc.sh" \
      >"$IVG_DIR/udhcpc$i.log" 2>&1 || ivp_fail "client$i: no DHCP lease: $(cat "$IVG_DIR/udhcpc$i.log")"
  done
  v1=$(ivg_client_vpn_addr 1)
  v2=$(ivg_client_vpn_addr 2)
  [[ $v1 == 10.8.0.1[0-4][0-9] && $v2 == 10.8.0.1[0-4][0-9] && $v1 != "$v2" ]] ||
    ivp_fail "clients' DHCP addresses '$v1' '$v2' (range 10.8.0.100 .. 10.8.0.149)"
  { grep -q " $v1 " "$IVG_DIR/dnsmasq.leases" && grep -q " $v2 " "$IVG_DIR/dnsmasq.leases"; } ||
    ivp_fail "dnsmasq's leases do not hold $v1 and $v2: $(cat "$IVG_DIR/dnsmasq.leases")"
  ivp_log "client1 $v1, client2 $v2 leased by dnsmasq through the tunnel and the bridge"
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)
  ping_n "$c1" "$HOST_ADDR" "client1 -> host"
  ping_n "$c2" "$HOST_ADDR" "client2 -> host"
  ping_n "$IVG_NS_HOST" "$v1" "host -> client1"
  ping_n "$IVG_NS_HOST" "$v2" "host -> client2"
  ping_n "$c1" "$v2" "client1 -> client2"
  ping_n "$c2" "$v1" "client2 -> client1"
  ivp_log "pings: 5/5 client <-> host and client <-> client"
  stop_and_check
  ivp_log "PASS tap dhcp"
}

case "$case_name" in
  basic) case_basic ;;
  reneg) case_reneg ;;
  bridge) case_bridge ;;
  dhcp) case_dhcp ;;
  *) echo "usage: $0 DPVPN_EXE [basic|reneg|bridge|dhcp]" >&2; exit 2 ;;
esac
