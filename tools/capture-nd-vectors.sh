#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates the known-answer frames in tests/unit/test_netpkt6.cc from the Linux kernel's own
# IPv6 stack: two namespaces on a veth pair, tcpdump -xx on side a. Needs root, tcpdump, python3.
#
#   a (heg-nd-a) 02:00:00:00:0a:01 fd00:203::1 ---veth--- b (heg-nd-b) 02:00:00:00:0b:01 fd00:203::11
#
# Prints the NS/NA exchanges the kernels make, among them b's NS for fd00:203::1 and a's NA, a
# unicast NUD probe of a link-local address, b's DAD probe for fd00:203::1 and a's defending NA;
# and a UDP datagram b:40000 -> a:1194 "dpvpn outer ipv6 vector". Which probes appear, and in what
# order, depends on the kernels' timers.
set -euo pipefail
P=${ND_PREFIX:-heg-nd}
cleanup() { ip netns del "$P-a" 2>/dev/null || true; ip netns del "$P-b" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add "$P-a"; ip netns add "$P-b"
ip link add "$P-va" netns "$P-a" type veth peer name "$P-vb" netns "$P-b"
ip -n "$P-a" link set "$P-va" address 02:00:00:00:0a:01
ip -n "$P-b" link set "$P-vb" address 02:00:00:00:0b:01
for n in a b; do
  ip netns exec "$P-$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.auto_flowlabels=0
done
# With tx checksum offload a veth carries UDP with only the pseudo-header part of the checksum.
ip netns exec "$P-b" ethtool -K "$P-vb" tx off >/dev/null
ip -n "$P-a" addr add fd00:203::1/64 dev "$P-va" nodad
ip -n "$P-b" addr add fd00:203::11/64 dev "$P-vb" nodad
ip -n "$P-a" link set "$P-va" up; ip -n "$P-b" link set "$P-vb" up
sleep 2  # link-local DAD
ip netns exec "$P-a" timeout 20 tcpdump -i "$P-va" -xx -n -c 9 \
  'icmp6 and (ip6[40]==135 or ip6[40]==136) or udp port 1194' &
dump=$!
sleep 1.5
ip netns exec "$P-b" ping -6 -c 1 -W 1 fd00:203::1 >/dev/null
ip netns exec "$P-b" python3 -c "
import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('fd00:203::11', 40000))
s.sendto(b'dpvpn outer ipv6 vector', ('fd00:203::1', 1194))"
ip -n "$P-b" neigh change fe80::ff:fe00:a01 dev "$P-vb" lladdr 02:00:00:00:0a:01 nud stale 2>/dev/null ||
  ip -n "$P-b" neigh add fe80::ff:fe00:a01 dev "$P-vb" lladdr 02:00:00:00:0a:01 nud stale
ip netns exec "$P-b" ping -6 -c 1 -W 1 fe80::ff:fe00:a01%"$P-vb" >/dev/null
sleep 6  # DELAY_FIRST_PROBE_TIME (5 s), then the unicast probe
ip -n "$P-b" addr add fd00:203::1/64 dev "$P-vb"  # duplicate: a defends it
wait "$dump" || true
