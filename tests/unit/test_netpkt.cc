// SPDX-License-Identifier: MIT
// Outer headers: checksum against a naive RFC 1071 sum, frame parsing edge cases, ARP replies,
// outer IPv4/UDP building (the kernel-visible checksums must verify).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/wire.h"

using namespace dpvpn;
using namespace dpvpn::net;

namespace {

uint32_t naive_sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

TEST(netpkt, checksum_matches_naive_sum_for_all_lengths_and_offsets) {
  std::mt19937 rng(1);
  std::vector<uint8_t> buf(2100);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; n < 1600; n += (n < 80 ? 1 : 37))
      ASSERT_EQ(csum_partial(buf.data() + off, n, 0x1234), naive_sum(buf.data() + off, n, 0x1234))
          << "off " << off << " len " << n;
  std::vector<uint8_t> ff(1500, 0xff);
  EXPECT_EQ(csum_partial(ff.data(), ff.size()), naive_sum(ff.data(), ff.size()));
}

std::vector<uint8_t> frame(size_t payload, uint16_t frag = 0x4000) {
  udp_endpoints e;
  e.src_mac = {2, 0, 0, 0, 0, 1};
  e.dst_mac = {2, 0, 0, 0, 0, 2};
  e.src_ip = 0x0acb000b;
  e.dst_ip = 0x0acb0001;
  e.src_port = 40000;
  e.dst_port = 1194;
  std::vector<uint8_t> f(k_outer_v4 + payload, 0x5a);
  write_outer_v4(f.data(), e, payload, 7, true);
  if (frag != 0x4000) {
    wire::put_u16(&f[k_eth_hdr + 6], frag);
    wire::put_u16(&f[k_eth_hdr + 10], 0);
    wire::put_u16(&f[k_eth_hdr + 10], ipv4_header_checksum(&f[k_eth_hdr], k_ipv4_hdr));
  }
  return f;
}

TEST(netpkt, outer_headers_verify_and_parse_back) {
  auto f = frame(100);
  EXPECT_EQ(csum_fold(csum_partial(&f[k_eth_hdr], k_ipv4_hdr)), 0);  // IP header checksum verifies
  // UDP checksum verifies over the pseudo header.
  uint32_t s = csum_partial(&f[k_eth_hdr + 12], 8);
  s += k_proto_udp;
  s += 108;
  EXPECT_EQ(csum_fold(csum_partial(&f[k_eth_hdr + k_ipv4_hdr], 108, s)), 0);
  frame_info fi = parse_frame(f.data(), f.size());
  ASSERT_EQ(fi.kind, frame_kind::ipv4_udp);
  EXPECT_EQ(fi.src_ip, 0x0acb000bu);
  EXPECT_EQ(fi.dst_port, 1194);
  EXPECT_EQ(fi.payload_off, k_outer_v4);
  EXPECT_EQ(fi.payload_len, 100u);
  // Ethernet padding after the IP packet is not payload.
  f.resize(f.size() + 10, 0);
  EXPECT_EQ(parse_frame(f.data(), f.size()).payload_len, 100u);
}

TEST(netpkt, malformed_and_other_frames) {
  auto f = frame(20);
  for (size_t n = 0; n < k_outer_v4; ++n) {
    frame_kind k = parse_frame(f.data(), n).kind;
    EXPECT_TRUE(k == frame_kind::malformed) << n;
  }
  EXPECT_EQ(parse_frame(frame(20, 0x2000).data(), k_outer_v4 + 20).kind, frame_kind::ipv4_fragment);  // MF
  EXPECT_EQ(parse_frame(frame(20, 0x0010).data(), k_outer_v4 + 20).kind, frame_kind::ipv4_fragment);  // offset
  auto g = frame(20);
  g[k_eth_hdr + 9] = 6;  // TCP
  EXPECT_EQ(parse_frame(g.data(), g.size()).kind, frame_kind::ipv4_other);
  auto h = frame(20);
  wire::put_u16(&h[k_eth_hdr + 2], 2000);  // total length beyond the frame
  EXPECT_EQ(parse_frame(h.data(), h.size()).kind, frame_kind::malformed);
  auto u = frame(20);
  wire::put_u16(&u[k_eth_hdr + k_ipv4_hdr + 4], 4);  // UDP length below the header
  EXPECT_EQ(parse_frame(u.data(), u.size()).kind, frame_kind::malformed);
  wire::put_u16(&u[12], k_ethertype_ipv6);
  EXPECT_EQ(parse_frame(u.data(), u.size()).kind, frame_kind::ipv6);
}

TEST(netpkt, arp_request_for_us_becomes_a_reply) {
  std::vector<uint8_t> a(42, 0);
  const mac them = {2, 0, 0, 0, 0, 9}, us = {2, 0, 0, 0, 0, 1};
  for (int i = 0; i < 6; ++i) a[i] = 0xff;
  std::copy(them.begin(), them.end(), a.begin() + 6);
  wire::put_u16(&a[12], k_ethertype_arp);
  uint8_t* p = &a[14];
  wire::put_u16(p, 1);
  wire::put_u16(p + 2, k_ethertype_ipv4);
  p[4] = 6;
  p[5] = 4;
  wire::put_u16(p + 6, 1);
  std::copy(them.begin(), them.end(), p + 8);
  wire::put_u32(p + 14, 0x0acb000b);
  wire::put_u32(p + 24, 0x0acb0001);
  auto other = a;
  EXPECT_FALSE(arp_make_reply(other.data(), other.size(), 0x0acb0002, us));  // not our address
  ASSERT_TRUE(arp_make_reply(a.data(), a.size(), 0x0acb0001, us));
  EXPECT_EQ(wire::get_u16(p + 6), 2);
  EXPECT_TRUE(std::equal(us.begin(), us.end(), p + 8));
  EXPECT_EQ(wire::get_u32(p + 14), 0x0acb0001u);
  EXPECT_TRUE(std::equal(them.begin(), them.end(), p + 18));
  EXPECT_EQ(wire::get_u32(p + 24), 0x0acb000bu);
  EXPECT_TRUE(std::equal(them.begin(), them.end(), a.begin()));
  EXPECT_FALSE(arp_make_reply(a.data(), a.size(), 0x0acb0001, us));  // a reply is not answered
  EXPECT_FALSE(arp_make_reply(a.data(), 30, 0x0acb0001, us));
}

TEST(netpkt, inner_v4_addresses) {
  uint8_t ip[20] = {0x45};
  wire::put_u32(ip + 12, 0x0a080002);
  wire::put_u32(ip + 16, 0x0a080001);
  uint32_t s = 0, d = 0;
  ASSERT_TRUE(inner_v4_addrs(ip, 20, s, d));
  EXPECT_EQ(s, 0x0a080002u);
  EXPECT_EQ(d, 0x0a080001u);
  EXPECT_FALSE(inner_v4_addrs(ip, 19, s, d));
  ip[0] = 0x60;
  EXPECT_FALSE(inner_v4_addrs(ip, 20, s, d));
}

}  // namespace
