#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dpvpn demo: the DPDK gateway (build/dpvpn) with two stock openvpn 2.6 clients in network
# namespaces on one bridged segment, and a host on a LAN behind the gateway (`dp-lan`: the LAN port
# is in the dataplane too); pings both ways, iperf3 client -> LAN host, then SIGTERM.
#
#                          netns ivg-sw: bridge br0
#        +---------------------+---------------+----------------+
#   netns ivg-gw               netns ivg-c1    netns ivg-c2
#   dpvpn on gw-wan            10.203.0.11     10.203.0.12
#   (af_packet, owns           tun0 10.8.0.2   tun0 10.8.0.3
#   10.203.0.1), tun0 10.8.0.1
#   and on gw-lan (owns 192.168.50.1) <-> lan0 192.168.50.2 in netns ivg-lan
# Everything lives in throwaway namespaces that are removed on exit. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build dpvpn >/dev/null
source tests/interop/gwlib.sh
ivg_setup "$PWD/build/dpvpn" 2
lan=$IVG_PREFIX-lan
ip netns add "$lan"
ip link add gw-lan netns "$IVG_NS_GW" type veth peer name lan0 netns "$lan"
ip netns exec "$IVG_NS_GW" sysctl -qw net.ipv6.conf.gw-lan.disable_ipv6=1
ip netns exec "$lan" ethtool -K lan0 tx off >/dev/null  # af_packet wants complete checksums
ip -n "$IVG_NS_GW" link set gw-lan up
ip -n "$lan" addr add 192.168.50.2/24 dev lan0
ip -n "$lan" link set lan0 up
ip -n "$lan" route add "$IVG_TUN_NET/24" via 192.168.50.1
ivg_server_conf "$IVG_DIR/server.conf" "dp-wan net_af_packet0" "dp-lan net_af_packet1 192.168.50.1/24" \
  'push "route 192.168.50.0 255.255.255.0"'
echo "== server.conf"
cat "$IVG_DIR/server.conf"
IVG_DP_VDEVS_EXTRA="--vdev=net_af_packet1,iface=gw-lan,qpairs=2" ivg_start_dpvpn "$IVG_DIR/server.conf"
grep -m2 "dpvpn: " "$IVG_DP_LOG" | cut -c1-200
for i in 1 2; do ivg_start_client "$i"; done
for i in 1 2; do ivg_wait_client "$i" || ivp_fail "client$i did not connect"; done
echo "== client1's openvpn log (excerpt)"
grep -E "Control Channel:|PUSH: Received|Data Channel:|Initialization Sequence" "${IVG_CLIENT_LOG[1]}" | cut -c1-200
echo "== ping through the tunnel: client1 -> gateway tun0 ($IVG_TUN_GW)"
ip netns exec "$(ivg_ns_client 1)" ping -n -c 5 -i 0.2 "$IVG_TUN_GW"
vpn2=$(ivg_client_vpn_addr 2)
echo "== ping from the gateway's kernel side to client2 ($vpn2)"
ip netns exec "$IVG_NS_GW" ping -n -c 5 -i 0.2 "$vpn2"
echo "== iperf3 TCP, client1 -> gateway, 3 s"
ivp_run "$IVG_NS_GW" "$IVG_DIR/iperf-s.log" iperf3 -s -1 -B "$IVG_TUN_GW"
ivg_wait_listen "$IVG_NS_GW" 5201 10 || ivp_fail "iperf3 server did not start"
ip netns exec "$(ivg_ns_client 1)" iperf3 -c "$IVG_TUN_GW" -t 3 -f m | tail -4
echo "== through the LAN port: client1 -> LAN host 192.168.50.2 (never through the kernel)"
ip netns exec "$(ivg_ns_client 1)" ping -n -c 5 -i 0.2 192.168.50.2
echo "== iperf3 TCP, client1 -> LAN host, 3 s"
ivp_run "$lan" "$IVG_DIR/iperf-lan.log" iperf3 -s -1 -B 192.168.50.2
ivg_wait_listen "$lan" 5201 10 || ivp_fail "iperf3 server on the LAN did not start"
ip netns exec "$(ivg_ns_client 1)" iperf3 -c 192.168.50.2 -t 3 -f m | tail -4
echo "== SIGTERM: clients are told, counters printed, clean exit"
ivg_stop_dpvpn
grep -A14 "SIGTERM received" "$IVG_DP_LOG" | cut -c1-220 || true
grep -h "server-pushed-connection-reset" "${IVG_CLIENT_LOG[1]}" | cut -c1-160 || true
echo "== demo ok (dpvpn exit status $IVG_DP_RC)"
