// SPDX-License-Identifier: MIT
// dp test tier: the frames and mbufs the worker tests build (test_worker_burst, test_worker_spread,
// test_lan): a valid inner IPv4/UDP packet, an Ethernet/IPv4/UDP frame around an OpenVPN packet,
// and copies between byte vectors and mbufs of the shared test pool (eal_env.h).
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/wire.h"
#include "eal_env.h"

namespace dpvpn::test {

using bytes = std::vector<uint8_t>;

// A valid inner IPv4/UDP packet of len bytes (ports 5000 -> 5001), its payload filled with fill.
inline bytes inner_v4(uint32_t src, uint32_t dst, uint16_t len, uint8_t fill) {
  bytes p(len, fill);
  std::fill(p.begin(), p.begin() + 28, 0);
  p[0] = 0x45;
  wire::put_u16(&p[2], len);
  p[8] = 64;
  p[9] = net::k_proto_udp;
  wire::put_u32(&p[12], src);
  wire::put_u32(&p[16], dst);
  wire::put_u16(&p[10], net::ipv4_header_checksum(p.data(), 20));
  wire::put_u16(&p[20], 5000);
  wire::put_u16(&p[22], 5001);
  wire::put_u16(&p[24], static_cast<uint16_t>(len - 20));
  return p;
}

// Ethernet/IPv4/UDP from `from` (and its MAC) to to_ip:to_port (to_mac) around an OpenVPN packet.
inline bytes outer_frame(const net::outer_addr& from, const net::mac& mac, const net::mac& to_mac, uint32_t to_ip,
                         uint16_t to_port, const bytes& ovpn) {
  bytes f(net::k_outer_v4 + ovpn.size());
  net::udp_endpoints e;
  e.src_mac = mac;
  e.dst_mac = to_mac;
  e.src_ip = net::v4_of(from.ip);
  e.dst_ip = to_ip;
  e.src_port = from.port;
  e.dst_port = to_port;
  std::copy(ovpn.begin(), ovpn.end(), f.begin() + net::k_outer_v4);
  net::write_outer_v4(f.data(), e, ovpn.size(), 7, true);
  return f;
}

inline rte_mbuf* mbuf_of(const bytes& b) {
  rte_mbuf* m = rte_pktmbuf_alloc(test_pool);
  std::copy(b.begin(), b.end(), rte_pktmbuf_mtod(m, uint8_t*));
  m->data_len = static_cast<uint16_t>(b.size());
  m->pkt_len = static_cast<uint32_t>(b.size());
  return m;
}
inline bytes bytes_of(const rte_mbuf* m) {
  const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
  return bytes(d, d + m->data_len);
}

}  // namespace dpvpn::test
