#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dpvpn gateway's LAN port (dp-lan, issue 9) with a stock OpenVPN 2.6 client on the WAN and
# a host on the LAN, both ends af_packet (topology: gwlib.sh plus a LAN):
#
#   netns P-c1: openvpn client1, tun0 10.8.0.2 + fd00:8::1000,   netns P-lan: the LAN host
#     x0 10.99.0.1/24 (a veth: the iroute network behind it)       lan0 192.168.50.2/24, fd00:50::2/64
#        |  br0 in P-sw (WAN)                                      routes 10.8.0.0/24, 10.99.0.0/24,
#   netns P-gw: dpvpn, WAN net_af_packet0 on gw-wan,               fd00:8::/64 via the gateway
#     LAN net_af_packet1 on gw-lan <====== veth ======> lan0
#     dp-lan net_af_packet1 192.168.50.1/24 fd00:50::1/64, dp-route 192.168.60.0/24 192.168.50.3
#     kernel tun0 10.8.0.1 (the exception port: must carry none of the transit traffic)
#
# Cases, in this order on one gateway (each fails with its own message):
#   1 ping    client <-> LAN host both ways, IPv4 and IPv6; the gateway's LAN addresses
#             192.168.50.1 and fd00:50::1 answer the client and the LAN host (the dataplane's echo)
#   2 iperf   iperf3 TCP 3 s client -> LAN host and 3 s LAN host -> client (each side's own
#             connection); the gateway's tun0 (kernel statistics and dpvpn's tun rx/tx) moves by
#             a handful of packets at most while dpvpn's to-lan/from-lan counters move by thousands
#   3 neigh   the LAN host, its neighbor table flushed, asks for 192.168.50.1 and fd00:50::1 and
#             learns gw-lan's MAC for both (the dataplane's ARP reply and NA, counted arp/nd >= 2);
#             the gateway resolved its own next hops (resolver replies >= 2: one ARP, one ND)
#   4 nexthop dp-route 192.168.60.0/24 via 192.168.50.3, which does not exist yet: 12 pings from
#             the client are lost, counted (resolver queue full + unresolved = 12, >= 3 probes,
#             nothing sent); then 192.168.50.3 and 192.168.60.1 appear on the LAN host: 5/5 replies
#   5 iroute  CCD `iroute 10.99.0.0 255.255.255.0` for client1: the LAN host pings 10.99.0.1 behind
#             client1, and client1 pings the LAN host from 10.99.0.1
#   6 ttl     ping -t 1 (IPv4) and hop limit 1 (IPv6) both ways: "Time to live exceeded" /
#             "Time exceeded" from the gateway's LAN address, counted as ttl_exceeded; then 600
#             TTL-1 packets from the LAN in 0.3 s: at most 400 ICMP errors (100/s per lcore), the
#             rest counted as limited
#   7 bad     raw frames on the LAN (python3 AF_PACKET in P-lan): to another MAC, bad IPv4 header
#             checksum, IPv4 total length / IPv6 payload length beyond the frame, sources that are a
#             client's (VPN addresses, iroute) or the gateway's own, unsolicited ARP replies, gratuitous ARP and an
#             unsolicited Neighbor Advertisement claiming the gateway's LAN addresses; then a
#             1600-byte DF ping to the client (MTU 1700 on the veth, tunnel MTU 1500): each drop
#             counter grows by what was sent, the DF ping gets "Frag needed" (mtu 1500) from
#             192.168.50.1, client1's tun0 receives nothing, the LAN host's neighbor entries for the
#             gateway are unchanged and pings still pass
#   8 reload  `dp-route 192.168.70.0/24 192.168.50.3` added to server.conf, then SIGHUP: the client
#             reaches 192.168.70.1 on the LAN host (unreachable before), with no restart
#
# usage: gateway-lan.sh DPVPN_EXE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

LAN_GW=192.168.50.1
LAN_HOST=192.168.50.2
LAN_GW6=fd00:50::1
LAN_HOST6=fd00:50::2
NEXT_HOP=192.168.60.1  # behind dp-route 192.168.60.0/24 192.168.50.3
IROUTE_ADDR=10.99.0.1
IVG_DP_VDEVS_EXTRA="--vdev=net_af_packet1,iface=gw-lan,qpairs=2"

# ---- counters: one block of dpvpn's counter print (ivg_snap_counters, or the exit print) ----
# _num FILE PHRASE [LINE]: the numbers right after PHRASE, summed over FILE's lines (those
# containing LINE when given); 0 when PHRASE is absent.
_num() {
  awk -v p="$2" -v l="${3:-}" 'l == "" || index($0, l) {
      s = $0
      while ((i = index(s, p)) > 0) {
        s = substr(s, i + length(p))
        if (match(s, /^[0-9]+/)) t += substr(s, 1, RLENGTH)
      }
    } END { print t + 0 }' "$1"
}
# c_sum FILE PHRASE: PHRASE's number summed over the lcore lines ("to lan", "from lan", "echo", ...).
c_sum() { _num "$1" "$2 "; }
# c_tun FILE rx|tx: dpvpn's exception-port packets ("tun rx N tx N"), summed over lcores.
c_tun() {
  awk -v w="$2" 'match($0, /tun rx [0-9]+ tx [0-9]+/) { split(substr($0, RSTART, RLENGTH), f, " "); t += (w == "rx" ? f[3] : f[5]) }
    END { print t + 0 }' "$1"
}
# c_drop FILE NAME: the drop counter NAME (0 when absent).
c_drop() { _num "$1" " $2=" "drops:"; }
# c_neigh FILE FIELD: a number of the resolver's line ("replies", "queue full", "unresolved", ...;
# "count" for the neighbor count).
c_neigh() {
  if [[ $2 == count ]]; then _num "$1" "lan neighbors " "lan neighbors"; else _num "$1" "$2 " "lan neighbors"; fi
}
snap() { ivg_snap_counters "$IVG_DIR/$1.cnt"; }
cnt() { echo "$IVG_DIR/$1.cnt"; }
# delta A B KIND ARG: KIND's value in snapshot B minus that in A (KIND: sum, tun, drop, neigh).
delta() {
  local a b
  a=$("c_$3" "$(cnt "$1")" "$4")
  b=$("c_$3" "$(cnt "$2")" "$4")
  echo $((b - a))
}

# expect_loss NS ADDR COUNT WANT [ping options...]
expect_loss() {
  local ns=$1 addr=$2 count=$3 want=$4 out loss
  shift 4
  out=$(ip netns exec "$ns" ping -n -c "$count" -i 0.2 -W 2 "$@" "$addr" 2>&1) || true
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$out")
  loss=${loss:-100}
  [[ ${loss%%.*} == "$want" ]] || ivp_fail "ping $* $addr in $ns: ${loss}% loss, expected ${want}%: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
}

# lanframes MODE [N]: raw frames from the LAN host (python3, AF_PACKET on lan0). MODE bad: the
# bad input of case 7; ttl1 N: N echo requests with TTL 1 for client1.
lanframes() {
  ip netns exec "$NS_LAN" python3 "$IVG_DIR/lanframes.py" "$1" lan0 "$GW_LAN_MAC" "$LAN_HOST_MAC" "$VPN4" "$VPN6" "${2:-0}"
}
write_lanframes() {
  cat >"$IVG_DIR/lanframes.py" <<'PY'
import socket, struct, sys, time

mode, ifname, gw_mac, my_mac, vpn4, vpn6 = sys.argv[1:7]
mac = lambda s: bytes.fromhex(s.replace(":", ""))
ip4 = socket.inet_aton
ip6 = lambda s: socket.inet_pton(socket.AF_INET6, s)
GW, ME, OTHER, BCAST = mac(gw_mac), mac(my_mac), mac("02:00:00:00:00:99"), b"\xff" * 6

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def echo4(src, dst, ttl=64, total_delta=0, bad_csum=False):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4c41, 1) + b"dpvpn-lan-test" * 4
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total + total_delta, 1, 0x4000, ttl, 1, 0, ip4(src), ip4(dst))
    c = csum(hdr) ^ (0x5555 if bad_csum else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + icmp

def echo6(src, dst, plen_delta=0):
    icmp = struct.pack("!BBHHH", 128, 0, 0, 0x4c41, 1) + b"dpvpn-lan-test" * 4
    pseudo = ip6(src) + ip6(dst) + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
    return struct.pack("!IHBB16s16s", 0x60000000, len(icmp) + plen_delta, 58, 64, ip6(src), ip6(dst)) + icmp

def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload

def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip4(spa), tha, ip4(tpa))

def na(src, dst, target, tlla):  # unsolicited Neighbor Advertisement, Override, with a TLLA option
    body = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, ip6(target)) + b"\x02\x01" + tlla
    pseudo = ip6(src) + ip6(dst) + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), 58, 255, ip6(src), ip6(dst)) + body

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
frames = []
if mode == "ttl1":  # N echo requests with TTL 1 for the client, paced over about 0.3 s
    n = int(sys.argv[7])
    for i in range(n):
        s.send(eth(GW, ME, 0x0800, echo4("192.168.50.2", vpn4, ttl=1)))
        time.sleep(0.3 / n)
    print(f"sent {n} frames")
    sys.exit(0)
frames += [eth(OTHER, ME, 0x0800, echo4("192.168.50.2", vpn4))] * 10                  # lan_not_for_us
frames += [eth(GW, ME, 0x0800, echo4("192.168.50.2", vpn4, bad_csum=True))] * 5       # lan_malformed
frames += [eth(GW, ME, 0x0800, echo4("192.168.50.2", vpn4, total_delta=200))] * 5     # lan_malformed
frames += [eth(GW, ME, 0x86DD, echo6("fd00:50::2", vpn6, plen_delta=200))] * 3        # lan_malformed
frames += [eth(GW, ME, 0x0800, echo4(vpn4, vpn4))] * 5                                # lan_spoofed_src
frames += [eth(GW, ME, 0x0800, echo4("10.99.0.5", vpn4))] * 5                         # lan_spoofed_src
frames += [eth(GW, ME, 0x0800, echo4("192.168.50.1", vpn4))] * 2                      # lan_spoofed_src
frames += [eth(GW, ME, 0x86DD, echo6(vpn6, vpn6))] * 3                                # lan_spoofed_src
evil = mac("02:00:00:00:00:66")
frames += [eth(GW, evil, 0x0806, arp(2, evil, "192.168.50.77", GW, "192.168.50.1"))] * 5   # unsolicited
frames += [eth(BCAST, evil, 0x0806, arp(1, evil, "192.168.50.1", b"\0" * 6, "192.168.50.1"))] * 3  # conflict
frames += [eth(BCAST, evil, 0x0806, arp(2, evil, "192.168.50.1", BCAST, "192.168.50.1"))] * 2      # conflict
frames += [eth(mac("33:33:00:00:00:01"), evil, 0x86DD, na("fe80::66", "ff02::1", "fd00:50::1", evil))] * 3  # conflict
for f in frames:
    s.send(f + b"\0" * max(0, 60 - len(f)))
print(f"sent {len(frames)} frames")
PY
}

stat_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
mac_of() { ip -n "$1" -o link show dev "$2" | grep -o "link/ether [0-9a-f:]*" | awk '{ print $2 }'; }
t_case=0
case_start() { t_case=$SECONDS; ivp_log "---- case $1"; }
case_pass() { ivp_log "PASS case $1 ($((SECONDS - t_case)) s)"; }

# ---------------------------------------------------------------------------------------------
t_start=$SECONDS
ivg_setup "$dpvpn" 1
command -v python3 >/dev/null 2>&1 || { ivp_log "SKIP: python3 not installed"; exit 77; }
command -v iperf3 >/dev/null 2>&1 || { ivp_log "SKIP: iperf3 not installed"; exit 77; }
NS_LAN=$IVG_PREFIX-lan
c1=$(ivg_ns_client 1)
write_lanframes

# The LAN: gw-lan (no address, IPv6 off: the kernel sends nothing there) <-> lan0 in NS_LAN.
ip netns add "$NS_LAN"
ip -n "$NS_LAN" link set lo up
ip link add gw-lan netns "$IVG_NS_GW" type veth peer name lan0 netns "$NS_LAN"
ip netns exec "$IVG_NS_GW" sysctl -qw net.ipv6.conf.gw-lan.disable_ipv6=1
ip netns exec "$IVG_NS_GW" ethtool -K gw-lan tx off >/dev/null
ip netns exec "$NS_LAN" ethtool -K lan0 tx off >/dev/null  # af_packet must see complete checksums
ip netns exec "$NS_LAN" sysctl -qw net.ipv6.conf.lan0.router_solicitations=0
ip -n "$IVG_NS_GW" link set gw-lan up
ip -n "$NS_LAN" addr add "$LAN_HOST/24" dev lan0
ip -n "$NS_LAN" addr add "$LAN_HOST6/64" dev lan0 nodad
ip -n "$NS_LAN" link set lan0 up
ip -n "$NS_LAN" route add "$IVG_TUN_NET/24" via "$LAN_GW"
ip -n "$NS_LAN" route add 10.99.0.0/24 via "$LAN_GW"
ip -n "$NS_LAN" -6 route add fd00:8::/64 via "$LAN_GW6"
GW_LAN_MAC=$(mac_of "$IVG_NS_GW" gw-lan)
LAN_HOST_MAC=$(mac_of "$NS_LAN" lan0)

# client1: IPv6 on its tun0 (gwlib turns it off in its namespace), and 10.99.0.1 behind it.
ip netns exec "$c1" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
ip -n "$c1" link add x0 type veth peer name x1  # no dummy module everywhere
ip -n "$c1" link set x1 up
ip -n "$c1" addr add "$IROUTE_ADDR/24" dev x0
ip -n "$c1" link set x0 up

mkdir -p "$IVG_DIR/ccd"
echo "iroute 10.99.0.0 255.255.255.0" >"$IVG_DIR/ccd/client1"
ivg_server_conf "$IVG_DIR/server.conf" \
  "dp-wan net_af_packet0" \
  "dp-lan net_af_packet1 $LAN_GW/24 $LAN_GW6/64" \
  "dp-route 192.168.60.0/24 192.168.50.3" \
  "server-ipv6 fd00:8::/64" \
  "client-config-dir $IVG_DIR/ccd" \
  "route 10.99.0.0 255.255.255.0" \
  'push "route 192.168.50.0 255.255.255.0"' \
  'push "route 192.168.60.0 255.255.255.0"' \
  'push "route-ipv6 fd00:50::/64"'
ivg_start_dpvpn "$IVG_DIR/server.conf"
grep -q "LAN port" "$IVG_DP_LOG" || ivp_fail "dpvpn did not report a LAN port (dp-lan not supported by this build?)"
ivp_log "$(grep -m1 "LAN port" "$IVG_DP_LOG")"
ivg_start_client 1
ivg_wait_client 1 || ivp_fail "client1 did not connect"
VPN4=$(ivg_client_vpn_addr 1)
VPN6=$(ip -n "$c1" -6 -o addr show dev tun0 scope global | awk '{ print $4 }' | cut -d/ -f1)
[[ -n $VPN4 ]] || ivp_fail "client1 has no VPN IPv4 address"
[[ $VPN6 == fd00:8::* ]] || ivp_fail "client1 has no VPN IPv6 address from server-ipv6: '$VPN6'"
grep -q "dev tun0" <<<"$(ip -n "$c1" route get "$LAN_HOST")" || ivp_fail "client1 has no pushed route to 192.168.50.0/24"
grep -q "dev tun0" <<<"$(ip -n "$c1" -6 route get "$LAN_HOST6")" || ivp_fail "client1 has no pushed route to fd00:50::/64"
ivp_log "setup done in $((SECONDS - t_start)) s: client1 $VPN4 $VPN6, gateway LAN MAC $GW_LAN_MAC, LAN host MAC $LAN_HOST_MAC"

# ---- 1: pings both ways, IPv4 and IPv6; the gateway's LAN addresses -------------------------
case_start "1 ping"
snap p0
expect_loss "$c1" "$LAN_HOST" 5 0
expect_loss "$NS_LAN" "$VPN4" 5 0
expect_loss "$c1" "$LAN_HOST6" 5 0
expect_loss "$NS_LAN" "$VPN6" 5 0
expect_loss "$c1" "$LAN_GW" 5 0
expect_loss "$NS_LAN" "$LAN_GW" 5 0
expect_loss "$c1" "$LAN_GW6" 5 0
expect_loss "$NS_LAN" "$LAN_GW6" 5 0
snap p1
n=$(delta p0 p1 sum echo)
((n >= 20)) || ivp_fail "the dataplane answered $n echo requests to its LAN addresses, expected 20"
# The first packet to each next hop waits at the resolver, which sends it itself ("sent").
n=$(($(delta p0 p1 sum "to lan") + $(delta p0 p1 neigh sent)))
((n >= 20)) || ivp_fail "to lan + resolver sent moved by $n during 20 client pings to (and replies for) the LAN host"
n=$(delta p0 p1 sum "from lan")
((n >= 20)) || ivp_fail "from lan moved by $n during 20 LAN host pings (and replies) to the client"
case_pass "1 ping"

# ---- 2: iperf3 TCP both ways; the exception port carries none of it ------------------------
case_start "2 iperf"
snap i0
tun_rx0=$(stat_of "$IVG_NS_GW" tun0 rx_packets)
tun_tx0=$(stat_of "$IVG_NS_GW" tun0 tx_packets)
# client1 -> LAN host (the client's connection, data from the client)
ivp_run "$NS_LAN" "$IVG_DIR/iperf-s-lan.log" iperf3 -s -1 --forceflush -B "$LAN_HOST"
ivg_wait_listen "$NS_LAN" 5201 10 || ivp_fail "iperf3 server on the LAN host did not start"
ip netns exec "$c1" timeout 20 iperf3 -c "$LAN_HOST" -t 3 -f m >"$IVG_DIR/iperf-c2l.log" 2>&1 || {
  IVP_LOGS+=("$IVG_DIR/iperf-c2l.log")
  ivp_fail "iperf3 TCP client1 -> LAN host failed"
}
# LAN host -> client1 (the LAN host's connection, data from the LAN host)
ivp_run "$c1" "$IVG_DIR/iperf-s-c1.log" iperf3 -s -1 --forceflush -B "$VPN4"
ivg_wait_listen "$c1" 5201 10 || ivp_fail "iperf3 server on client1 did not start"
ip netns exec "$NS_LAN" timeout 20 iperf3 -c "$VPN4" -t 3 -f m >"$IVG_DIR/iperf-l2c.log" 2>&1 || {
  IVP_LOGS+=("$IVG_DIR/iperf-l2c.log")
  ivp_fail "iperf3 TCP LAN host -> client1 failed"
}
tun_rx1=$(stat_of "$IVG_NS_GW" tun0 rx_packets)
tun_tx1=$(stat_of "$IVG_NS_GW" tun0 tx_packets)
snap i1
rate_c2l=$(awk '/receiver/ { print $(NF-2) }' "$IVG_DIR/iperf-c2l.log")
rate_l2c=$(awk '/receiver/ { print $(NF-2) }' "$IVG_DIR/iperf-l2c.log")
awk -v a="${rate_c2l:-0}" -v b="${rate_l2c:-0}" 'BEGIN { exit !(a > 0 && b > 0) }' ||
  ivp_fail "iperf3 reported no throughput (client -> LAN '$rate_c2l', LAN -> client '$rate_l2c')"
to_lan=$(delta i0 i1 sum "to lan")
from_lan=$(delta i0 i1 sum "from lan")
dp_tun_rx=$(delta i0 i1 tun rx)
dp_tun_tx=$(delta i0 i1 tun tx)
k_rx=$((tun_rx1 - tun_rx0))
k_tx=$((tun_tx1 - tun_tx0))
ivp_log "iperf3 TCP client1 -> LAN host: $rate_c2l Mbits/sec; LAN host -> client1: $rate_l2c Mbits/sec"
ivp_log "during iperf3: dpvpn to lan +$to_lan, from lan +$from_lan; exception port: dpvpn tun rx +$dp_tun_rx tx +$dp_tun_tx, kernel tun0 rx +$k_rx tx +$k_tx"
((to_lan >= 1000 && from_lan >= 1000)) || ivp_fail "the transit packets did not cross the LAN port (to lan +$to_lan, from lan +$from_lan)"
# A handful of packets may be the kernel's own (none is expected here); transit would be thousands.
((dp_tun_rx < 20 && dp_tun_tx < 20 && k_rx < 20 && k_tx < 20)) ||
  ivp_fail "transit packets went through the exception port: dpvpn tun rx +$dp_tun_rx tx +$dp_tun_tx, kernel tun0 rx +$k_rx tx +$k_tx (to lan +$to_lan, from lan +$from_lan)"
case_pass "2 iperf"

# ---- 3: ARP and ND resolution both ways -----------------------------------------------------
case_start "3 neigh"
# The LAN host may have learnt the gateway's MAC from the gateway's own ARP request / NS (their
# sender's address): forget it, and let the LAN host ask the dataplane itself.
snap n0
ip -n "$NS_LAN" neigh flush dev lan0
expect_loss "$NS_LAN" "$LAN_GW" 2 0
expect_loss "$NS_LAN" "$LAN_GW6" 2 0
n4=$(ip -n "$NS_LAN" neigh show "$LAN_GW" dev lan0)
n6=$(ip -n "$NS_LAN" -6 neigh show "$LAN_GW6" dev lan0)
ivp_log "LAN host's neighbors: '$n4' / '$n6'"
grep -q "lladdr $GW_LAN_MAC" <<<"$n4" || ivp_fail "the LAN host has no ARP entry $LAN_GW -> $GW_LAN_MAC: '$n4'"
grep -q "lladdr $GW_LAN_MAC" <<<"$n6" || ivp_fail "the LAN host has no ND entry $LAN_GW6 -> $GW_LAN_MAC: '$n6'"
snap n1
n=$(c_neigh "$(cnt n1)" replies)
((n >= 2)) || ivp_fail "the gateway's resolver counted $n replies, expected >= 2 (ARP for $LAN_HOST, ND for $LAN_HOST6): $(grep "lan neighbors" "$(cnt n1)")"
n=$(delta n0 n1 sum "arp/nd")
((n >= 2)) || ivp_fail "the dataplane answered $n ARP requests / NS for its LAN addresses after the flush, expected >= 2"
case_pass "3 neigh"

# ---- 4: a next hop that does not answer yet, then does -------------------------------------
case_start "4 nexthop"
snap h0
expect_loss "$c1" "$NEXT_HOP" 12 100
# 8 held per next hop, the rest refused at once; the held ones dropped after 3 probes 1 s apart.
for ((i = 0; i < 80; i++)); do
  snap h1
  ((i % 10 == 0)) && ivp_log "resolver: $(grep "lan neighbors" "$(cnt h1)")"
  (($(delta h0 h1 neigh "queue full") + $(delta h0 h1 neigh unresolved) >= 12)) && break
  sleep 0.1
done
qf=$(delta h0 h1 neigh "queue full")
un=$(delta h0 h1 neigh unresolved)
rq=$(delta h0 h1 neigh requests)
st=$(delta h0 h1 neigh sent)
ivp_log "unresolved next hop 192.168.50.3: 12 pings -> queue full +$qf, unresolved +$un, probes +$rq, sent +$st"
((qf + un >= 12)) || ivp_fail "12 pings to an unresolved next hop: queue full +$qf, unresolved +$un (expected 12 counted drops)"
((un >= 1)) || ivp_fail "no held packet was counted unresolved after the probes ran out"
((rq >= 3)) || ivp_fail "the resolver sent $rq ARP probes for 192.168.50.3, expected 3"
((st == 0)) || ivp_fail "the resolver sent $st held packets to a next hop that never answered"
ip -n "$NS_LAN" addr add 192.168.50.3/24 dev lan0
ip -n "$NS_LAN" addr add "$NEXT_HOP/24" dev lo
expect_loss "$c1" "$NEXT_HOP" 5 0
snap h2
n=$(delta h1 h2 neigh replies)
((n >= 1)) || ivp_fail "no resolver reply counted once 192.168.50.3 answered"
case_pass "4 nexthop"

# ---- 5: the LAN reaches an iroute network behind a client ----------------------------------
case_start "5 iroute"
expect_loss "$NS_LAN" "$IROUTE_ADDR" 5 0
expect_loss "$c1" "$LAN_HOST" 3 0 -I "$IROUTE_ADDR"
case_pass "5 iroute"

# ---- 6: TTL / hop limit 1 both ways --------------------------------------------------------
case_start "6 ttl"
snap t0
expect_ttl() {  # NS ADDR PATTERN [ping options]
  local ns=$1 addr=$2 pat=$3 out
  shift 3
  out=$(ip netns exec "$ns" ping -n -c 1 -W 2 "$@" "$addr" 2>&1) || true
  grep -Eq "$pat" <<<"$out" || ivp_fail "ping $* $addr in $ns: expected '$pat', got: $(tr '\n' ' ' <<<"$out")"
}
expect_ttl "$NS_LAN" "$VPN4" "From $LAN_GW .*Time to live exceeded" -t 1
expect_ttl "$c1" "$LAN_HOST" "From $LAN_GW .*Time to live exceeded" -t 1
expect_ttl "$NS_LAN" "$VPN6" "From $LAN_GW6 .*Time exceeded" -t 1
expect_ttl "$c1" "$LAN_HOST6" "From $LAN_GW6 .*Time exceeded" -t 1
snap t1
n=$(delta t0 t1 drop ttl_exceeded)
((n >= 4)) || ivp_fail "ttl_exceeded moved by $n, expected 4"
n=$(delta t0 t1 sum icmp)
((n >= 4)) || ivp_fail "the dataplane sent $n ICMP errors, expected 4 time exceeded"
# Rate limit: 600 TTL-1 packets within about 0.3 s get at most 100 ICMP errors per lcore and
# second (2 lcores, at most 2 seconds touched: 400), the rest counted as limited.
lanframes ttl1 600 >/dev/null
sleep 0.3
snap t2
ttl=$(delta t1 t2 drop ttl_exceeded)
icmp=$(delta t1 t2 sum icmp)
limited=$(delta t1 t2 sum limited)
ivp_log "600 TTL-1 packets from the LAN: ttl_exceeded +$ttl, ICMP errors sent +$icmp, limited +$limited"
((ttl >= 500)) || ivp_fail "600 TTL-1 packets from the LAN: ttl_exceeded moved by $ttl only"
((icmp <= 400 && limited >= 100)) || ivp_fail "ICMP errors not rate-limited: +$icmp sent, +$limited limited for $ttl TTL-1 packets"
case_pass "6 ttl"

# ---- 7: bad input on the LAN ---------------------------------------------------------------
case_start "7 bad"
neigh_before=$(ip -n "$NS_LAN" neigh show "$LAN_GW" dev lan0 | awk '{ print $3 }')
snap b0
c_rx0=$(stat_of "$c1" tun0 rx_packets)
lanframes bad
# Oversize from the LAN: 1600 bytes with DF for a client behind a 1500-byte tunnel.
ip -n "$IVG_NS_GW" link set gw-lan mtu 1700
ip -n "$NS_LAN" link set lan0 mtu 1700
out=$(ip netns exec "$NS_LAN" ping -n -c 1 -W 2 -M "do" -s 1572 "$VPN4" 2>&1) || true
grep -Eq "From $LAN_GW .*Frag needed and DF set \(mtu = 1500\)" <<<"$out" ||
  ivp_fail "a 1600-byte DF ping from the LAN to the client got no 'Frag needed (mtu = 1500)' from $LAN_GW: $(tr '\n' ' ' <<<"$out")"
ip -n "$NS_LAN" link set lan0 mtu 1500
ip -n "$IVG_NS_GW" link set gw-lan mtu 1500
sleep 0.5
c_rx1=$(stat_of "$c1" tun0 rx_packets)
snap b1
ivp_log "bad input: $(grep "drops:" "$(cnt b1)")"
ivp_log "bad input: $(grep "lan neighbors" "$(cnt b1)")"
check_grew() {  # KIND ARG WANT WHAT
  local n
  n=$(delta b0 b1 "$1" "$2")
  ((n >= $3)) || ivp_fail "$4: '$2' moved by $n, expected >= $3"
}
check_grew drop lan_not_for_us 10 "10 frames for another MAC"
check_grew drop lan_malformed 13 "5 IPv4 headers with a bad checksum, 5 with a total length and 3 IPv6 with a payload length beyond the frame"
check_grew drop lan_spoofed_src 15 "15 packets from a client's VPN addresses (IPv4 and IPv6), its iroute network and the gateway's own address"
check_grew neigh unsolicited 5 "5 unsolicited ARP replies"
check_grew drop lan_addr_conflict 8 "5 ARP and 3 NA claiming the gateway's LAN addresses"
check_grew drop too_big 1 "a 1600-byte DF packet for a 1500-byte tunnel"
[[ $(delta b0 b1 neigh count) == 0 ]] || ivp_fail "the gateway's neighbor table grew from unsolicited ARP replies"
((c_rx1 == c_rx0)) || ivp_fail "client1's tun0 received $((c_rx1 - c_rx0)) packets while only bad input reached the LAN port"
neigh_after=$(ip -n "$NS_LAN" neigh show "$LAN_GW" dev lan0 | awk '{ print $3 }')
[[ $neigh_after == "$neigh_before" ]] || ivp_fail "the LAN host's ARP entry for $LAN_GW changed: '$neigh_before' -> '$neigh_after'"
expect_loss "$NS_LAN" "$VPN4" 3 0
expect_loss "$c1" "$LAN_HOST" 3 0
case_pass "7 bad"

# 8 reload: a dp-route added to server.conf takes effect on SIGHUP, without a restart.
t_case=$SECONDS
ip -n "$c1" route add 192.168.70.0/24 dev tun0
ip -n "$NS_LAN" addr add 192.168.70.1/24 dev lo
expect_loss "$c1" 192.168.70.1 2 100
sed -i 's|^dp-route 192.168.60.0/24 192.168.50.3$|&\ndp-route 192.168.70.0/24 192.168.50.3|' "$IVG_DIR/server.conf"
kill -HUP "$IVG_DP_PID"
ivp_wait_log "$IVG_DP_LOG" "SIGHUP: dp-route: 2 static route\(s\) now" 5 || ivp_fail "SIGHUP did not apply the new dp-route"
expect_loss "$c1" 192.168.70.1 5 0
expect_loss "$c1" "$LAN_HOST" 3 0
case_pass "8 reload"

stop_and_check
ex=$IVG_DIR/exit.cnt
sed -n '/counters (exit):/,$p' "$IVG_DP_LOG" >"$ex"
ivp_log "exit: to lan $(c_sum "$ex" "to lan"), from lan $(c_sum "$ex" "from lan"), exception port tun rx $(c_tun "$ex" rx) tx $(c_tun "$ex" tx)"
ivp_log "PASS gateway_lan in $((SECONDS - t_start)) s: iperf3 client -> LAN $rate_c2l Mbits/sec, LAN -> client $rate_l2c Mbits/sec"
