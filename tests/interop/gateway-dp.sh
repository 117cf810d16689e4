#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dataplane features of the dpvpn gateway with stock OpenVPN 2.6 clients (topology: gwlib.sh).
#
# Cases:
#   c2c    client-to-client, 2 clients: client1 pings client2's VPN address, 0% loss, and the
#          kernel tun0 of the gateway sees none of those packets (the workers hairpin them)
#   float  the client's outer address changes under a live session (a new address on its WAN,
#          the old one removed): pings keep working, no new handshake, and the gateway's replies
#          reach the new address (the old one is gone, so nothing else could answer)
#   spoofmove  replayed and forged data packets from another address do not move a session
#   mssfix `mssfix 1300` on the gateway, the client's own clamp off: iperf3 TCP passes and the
#          SYN seen on the gateway's tun0 and the SYN-ACK seen on the client's tun0 carry
#          MSS 1208 = 1300 - 28 (outer IPv4+UDP) - 24 (AEAD data overhead) - 40 (app/main.cc)
#
# usage: gateway-dp.sh DPVPN_EXE CASE
# Exit: 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, tools or DPDK/af_packet missing).
set -euo pipefail
dpvpn=${1:-}
case_name=${2:-}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/gwlib.sh"

# tun_stat NS IF COUNTER: one of the interface's statistics (rx_packets, tx_packets, ...).
tun_stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

case_c2c() {
  local c1 vpn2 loss rx0 tx0 rx1 tx1
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf" "client-to-client"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  grep -q "client-to-client on" "$IVG_DP_LOG" || ivp_fail "dpvpn did not turn client-to-client on"
  ivg_start_client 1
  ivg_start_client 2
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  ivg_wait_client 2 || ivp_fail "client2 did not connect"
  c1=$(ivg_ns_client 1)
  vpn2=$(ivg_client_vpn_addr 2)
  [[ -n $vpn2 ]] || ivp_fail "client2 has no VPN address"

  rx0=$(tun_stat "$IVG_NS_GW" tun0 rx_packets)
  tx0=$(tun_stat "$IVG_NS_GW" tun0 tx_packets)
  loss=$(ivp_ping "$c1" "$vpn2" 30)
  rx1=$(tun_stat "$IVG_NS_GW" tun0 rx_packets)
  tx1=$(tun_stat "$IVG_NS_GW" tun0 tx_packets)
  [[ $loss == 0 ]] || ivp_fail "ping client1 -> client2 ($vpn2): ${loss}% loss"
  # 60 ICMP packets crossed the gateway; the kernel saw none of them (a few stray packets allowed).
  ivp_log "gateway tun0 during 30 pings client1 -> client2: rx +$((rx1 - rx0)), tx +$((tx1 - tx0))"
  (((rx1 - rx0) < 5 && (tx1 - tx0) < 5)) || ivp_fail "client-to-client packets went through the kernel tun0"

  stop_and_check
  ivp_log "PASS c2c: 30/30 pings client1 -> client2, hairpinned in the dataplane"
}

case_float() {
  local c1 old new loss n
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)
  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 5)
  [[ $loss == 0 ]] || ivp_fail "ping before the float: ${loss}% loss"

  # NAT rebinding, seen from the gateway: the same session now arrives from another address.
  # The client's socket is unbound (nobind), so its next datagram leaves from the new address.
  old=$(ivg_client_addr 1)
  new=10.203.0.111
  ip netns exec "$c1" sysctl -qw net.ipv4.conf.wan.promote_secondaries=1
  ip -n "$c1" addr add "$new/24" dev wan
  ip -n "$c1" addr del "$old/24" dev wan
  grep -q "inet $new/" <<<"$(ip -n "$c1" -4 -o addr show dev wan)" || ivp_fail "could not move client1 to $new"
  ivp_log "client1 moved from $old to $new"

  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 20)
  [[ $loss == 0 ]] || ivp_fail "ping after the float: ${loss}% loss"
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true)
  [[ $n == 1 ]] || ivp_fail "client1 connected $n times: the float cost a new session"

  stop_and_check
  ivp_log "PASS float: 20/20 pings from the new address, same session"
}

# The client's data packets as UDP payloads: captured on its bridge port, cut out of the pcap.
udp_payloads_from_pcap() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out, off = [], 24  # pcap file header
while off + 16 <= len(data):
    incl = struct.unpack_from("<I", data, off + 8)[0]
    frame = data[off + 16 : off + 16 + incl]
    off += 16 + incl
    ihl = (frame[14] & 0x0F) * 4
    out.append(frame[14 + ihl + 8 :].hex())
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
}

case_spoofmove() {
  local c1 c2 loss n floats replays badtags
  ivg_setup "$dpvpn" 2
  ivg_server_conf "$IVG_DIR/server.conf"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  ivg_start_client 1
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)
  c2=$(ivg_ns_client 2)  # no openvpn here: the attacker, on another address of the same LAN

  # Record a few of client1's authentic data packets (pings) as they cross its bridge port.
  ivp_run "$IVG_NS_SW" "$IVG_DIR/tcpdump.log" tcpdump -i sw-c1 -c 6 -w "$IVG_DIR/c1.pcap" \
    "udp and src host $(ivg_client_addr 1) and dst port $IVP_PORT and udp[8] & 0xf8 == 0x48"
  sleep 1
  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping before the attack: ${loss}% loss"
  for ((n = 0; n < 50; n++)); do [[ -s $IVG_DIR/c1.pcap ]] && grep -q "6 packets captured" "$IVG_DIR/tcpdump.log" && break; sleep 0.1; done
  udp_payloads_from_pcap "$IVG_DIR/c1.pcap" "$IVG_DIR/c1.hex"
  [[ $(wc -l <"$IVG_DIR/c1.hex") -ge 3 ]] || ivp_fail "captured no data packets of client1"

  # From client2's address: (1) replays of the authentic packets, (2) forged P_DATA_V2 with
  # client1's peer-id 0 and a random tag. Neither may move client1's session there (§1.5, §B.1).
  ip netns exec "$c2" python3 - "$IVG_DIR/c1.hex" "$IVG_GW_ADDR" "$IVP_PORT" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = (sys.argv[2], int(sys.argv[3]))
for line in open(sys.argv[1]):
    if line.strip():
        s.sendto(bytes.fromhex(line.strip()), dst)
for i in range(20):
    s.sendto(bytes([0x48, 0, 0, 0]) + (1000 + i).to_bytes(4, "big") + os.urandom(16 + 84), dst)
PY
  sleep 0.5
  loss=$(ivp_ping "$c1" "$IVG_TUN_GW" 10)
  [[ $loss == 0 ]] || ivp_fail "ping after the attack: ${loss}% loss (the session moved?)"
  n=$(grep -c "Initialization Sequence Completed" "${IVG_CLIENT_LOG[1]}" || true)
  [[ $n == 1 ]] || ivp_fail "client1 connected $n times"

  stop_and_check
  floats=$(sed -n '/counters (exit):/,$p' "$IVG_DP_LOG" | grep -o "floats [0-9]*" | awk '{s += $2} END {print s + 0}')
  replays=$(sed -n '/counters (exit):/,$p' "$IVG_DP_LOG" | grep -o "replay=[0-9]*" | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
  badtags=$(sed -n '/counters (exit):/,$p' "$IVG_DP_LOG" | grep -o "bad_tag=[0-9]*" | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
  [[ $floats == 0 ]] || ivp_fail "the gateway floated a session $floats time(s) on spoofed packets"
  [[ $replays -ge 3 ]] || ivp_fail "expected the replayed packets counted as replay drops, got $replays"
  [[ $badtags -ge 20 ]] || ivp_fail "expected the forged packets counted as bad_tag drops, got $badtags"
  ivp_log "PASS spoofmove: $replays replays and $badtags forgeries from another address dropped, no float"
}

case_mssfix() {
  local c1 rate mss_gw mss_cl
  ivg_setup "$dpvpn" 1
  ivg_server_conf "$IVG_DIR/server.conf" "mssfix 1300"
  ivg_start_dpvpn "$IVG_DIR/server.conf"
  grep -q "TCP MSS clamp 1208" "$IVG_DP_LOG" || ivp_fail "dpvpn did not compute MSS 1208 from mssfix 1300"
  # The client's own clamp off, so that only the gateway's is seen.
  ivg_start_client 1 extra="mssfix 0"
  ivg_wait_client 1 || ivp_fail "client1 did not connect"
  c1=$(ivg_ns_client 1)

  ivp_run "$IVG_NS_GW" "$IVG_DIR/tcpdump-gw.log" tcpdump -l -n -v -i tun0 -c 2 "tcp[tcpflags] & tcp-syn != 0"
  ivp_run "$c1" "$IVG_DIR/tcpdump-cl.log" tcpdump -l -n -v -i tun0 -c 2 "tcp[tcpflags] & tcp-syn != 0"
  # Both captures must be listening before the SYN goes out (a fixed sleep lost it on a loaded machine).
  ivp_wait_log "$IVG_DIR/tcpdump-gw.log" "listening on" 10 || ivp_fail "tcpdump on the gateway's tun0 did not start"
  ivp_wait_log "$IVG_DIR/tcpdump-cl.log" "listening on" 10 || ivp_fail "tcpdump on the client's tun0 did not start"
  ivp_run "$IVG_NS_GW" "$IVG_DIR/iperf-s.log" iperf3 -s -1 --forceflush -B "$IVG_TUN_GW"
  ivg_wait_listen "$IVG_NS_GW" 5201 10 || ivp_fail "iperf3 server did not start"
  ip netns exec "$c1" timeout 20 iperf3 -c "$IVG_TUN_GW" -t 2 -f m >"$IVG_DIR/iperf-c.log" 2>&1 || {
    IVP_LOGS+=("$IVG_DIR/iperf-c.log")
    ivp_fail "iperf3 through the tunnel failed"
  }
  rate=$(awk '/receiver/ {print $(NF-2)}' "$IVG_DIR/iperf-c.log")
  awk -v r="${rate:-0}" 'BEGIN { exit !(r > 0) }' || ivp_fail "iperf3 reported no throughput"
  ivp_log "iperf3 TCP client1 -> gateway: $rate Mbits/sec"
  sleep 1
  # The SYN as the gateway's kernel got it (clamped after decrypt), the SYN-ACK as the client got
  # it (clamped before encrypt).
  mss_gw=$(grep -m1 "Flags \[S\]" "$IVG_DIR/tcpdump-gw.log" | sed -nE 's/.*mss ([0-9]+).*/\1/p') || true
  mss_cl=$(grep -m1 "Flags \[S\.\]" "$IVG_DIR/tcpdump-cl.log" | sed -nE 's/.*mss ([0-9]+).*/\1/p') || true
  ivp_log "MSS: SYN on the gateway's tun0 ${mss_gw:-?}, SYN-ACK on the client's tun0 ${mss_cl:-?}"
  [[ $mss_gw == 1208 ]] || ivp_fail "SYN MSS on the gateway's tun0 is '${mss_gw}', expected 1208"
  [[ $mss_cl == 1208 ]] || ivp_fail "SYN-ACK MSS on the client's tun0 is '${mss_cl}', expected 1208"

  stop_and_check
  ivp_log "PASS mssfix: MSS 1208 both ways, iperf3 $rate Mbits/sec"
}

case "$case_name" in
  c2c) case_c2c ;;
  float) case_float ;;
  mssfix) case_mssfix ;;
  spoofmove) case_spoofmove ;;
  *) echo "usage: $0 DPVPN_EXE c2c|float|mssfix|spoofmove" >&2; exit 2 ;;
esac
