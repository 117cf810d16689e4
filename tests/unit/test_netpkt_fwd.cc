// SPDX-License-Identifier: MIT
// Forwarding packet work (netpkt_fwd.h): TTL / hop limit, ICMP errors (RFC 792,
// RFC 1812 §4.3.2.3 and §4.3.2.7, RFC 4443 §2.4), echo replies, ARP requests and parsing (RFC 826),
// Neighbor Solicitation and Advertisement (RFC 4861). Every checksum is verified with a naive
// RFC 1071 sum written here, and the ND frames against ones captured from the Linux kernel.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dpvpn/netpkt_fwd.h"
#include "dpvpn/wire.h"

using namespace dpvpn;
using namespace dpvpn::net;

namespace {

using bytes = std::vector<uint8_t>;

// Independent RFC 1071 sum, byte by byte.
uint32_t naive_sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
// The checksum a sender stores over p (its checksum field zero).
uint16_t naive_csum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  return static_cast<uint16_t>(~naive_sum(p, n, sum) & 0xffff);
}
bool v4_header_verifies(const uint8_t* ip) { return naive_sum(ip, (ip[0] & 0x0f) * 4u) == 0xffff; }
// The IPv6 pseudo-header (RFC 8200 §8.1) summed naively.
uint32_t naive_pseudo6(const uint8_t* ip, uint32_t l4_len, uint8_t nh) {
  uint32_t s = naive_sum(ip + 8, 32);
  return naive_sum(nullptr, 0, s + (l4_len >> 16) + (l4_len & 0xffff) + nh);
}
bool icmp6_verifies(const uint8_t* ip) {
  const uint16_t plen = wire::get_u16(ip + 4);
  return naive_sum(ip + k_ipv6_hdr, plen, naive_pseudo6(ip, plen, k_proto_icmp6)) == 0xffff;
}
// The stored checksum at c (2 bytes inside p..p+n) equals a from-scratch recomputation.
void expect_recomputed(uint8_t* p, size_t n, uint8_t* c, uint32_t pseudo = 0) {
  const uint16_t stored = wire::get_u16(c);
  wire::put_u16(c, 0);
  EXPECT_EQ(stored, naive_csum(p, n, pseudo));
  wire::put_u16(c, stored);
}

bytes hex(const char* s) {
  bytes v;
  for (size_t i = 0; s[i] && s[i + 1]; i += 2)
    v.push_back(static_cast<uint8_t>(std::stoi(std::string(s + i, 2), nullptr, 16)));
  return v;
}

constexpr uint32_t k_gw = 0xc0a80101;    // 192.168.1.1, the gateway's LAN address
constexpr uint32_t k_host = 0x0a080006;  // 10.8.0.6, a client
constexpr uint32_t k_far = 0xc0a80114;   // 192.168.1.20
constexpr uint8_t k_icmp = 1;

// IPv4: len bytes, protocol proto, a valid header checksum, payload bytes i & 0xff.
bytes ip4(uint32_t src, uint32_t dst, size_t len, uint8_t proto = k_proto_udp, uint8_t ttl = 64,
          uint16_t frag = 0x4000) {
  bytes p(len);
  for (size_t i = 20; i < len; ++i) p[i] = static_cast<uint8_t>(i);
  p[0] = 0x45;
  wire::put_u16(&p[2], static_cast<uint16_t>(len));
  wire::put_u16(&p[4], 0x1234);
  wire::put_u16(&p[6], frag);
  p[8] = ttl;
  p[9] = proto;
  wire::put_u32(&p[12], src);
  wire::put_u32(&p[16], dst);
  wire::put_u16(&p[10], naive_csum(p.data(), 20));
  return p;
}
// An ICMPv4 message of the given type inside ip4, checksummed.
bytes icmp4(uint32_t src, uint32_t dst, uint8_t type, size_t len = 64) {
  bytes p = ip4(src, dst, len, k_icmp);
  p[20] = type;
  p[21] = 0;
  wire::put_u16(&p[22], 0);
  wire::put_u16(&p[22], naive_csum(&p[20], len - 20));
  return p;
}

const ip6 k_gw6{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};     // fd00:0:0:1::1
const ip6 k_host6{0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0};  // fd00:0:0:8::1000
const ip6 k_far6{0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20};   // fd00:0:0:1::20
const ip6 k_all_nodes{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// IPv6: next header nh, total len bytes, payload bytes i & 0xff.
bytes ip6pkt(const ip6& src, const ip6& dst, size_t len, uint8_t nh = k_proto_udp, uint8_t hlim = 64) {
  bytes p(len);
  for (size_t i = 40; i < len; ++i) p[i] = static_cast<uint8_t>(i);
  wire::put_u32(&p[0], 0x60012345);
  wire::put_u16(&p[4], static_cast<uint16_t>(len - 40));
  p[6] = nh;
  p[7] = hlim;
  std::copy(src.begin(), src.end(), p.begin() + 8);
  std::copy(dst.begin(), dst.end(), p.begin() + 24);
  return p;
}
// An ICMPv6 message of the given type, checksummed.
bytes icmp6pkt(const ip6& src, const ip6& dst, uint8_t type, size_t len = 64) {
  bytes p = ip6pkt(src, dst, len, k_proto_icmp6);
  p[40] = type;
  p[41] = 0;
  wire::put_u16(&p[42], 0);
  const auto l4 = static_cast<uint32_t>(len - 40);
  wire::put_u16(&p[42], naive_csum(&p[40], l4, naive_pseudo6(p.data(), l4, k_proto_icmp6)));
  return p;
}

// ---------------------------------------------------------------------------------------------
// Ethernet, TTL and hop limit

TEST(netpkt_fwd, write_eth) {
  uint8_t f[14];
  write_eth(f, {1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}, k_ethertype_ipv6);
  EXPECT_EQ(bytes(f, f + 14), (bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x86, 0xdd}));
}

TEST(netpkt_fwd, ttl_decremented_with_the_checksum_updated) {
  bytes p = ip4(k_host, k_far, 60);
  ASSERT_TRUE(ipv4_dec_ttl(p.data()));
  EXPECT_EQ(p[8], 63);
  EXPECT_TRUE(v4_header_verifies(p.data()));
  expect_recomputed(p.data(), 20, &p[10]);
  // Every TTL, protocol and a spread of addresses: the incremental update matches a full recompute.
  for (unsigned ttl = 2; ttl < 256; ++ttl)
    for (uint8_t proto : {uint8_t{1}, uint8_t{6}, uint8_t{17}, uint8_t{255}}) {
      bytes q = ip4(k_host + ttl * 7919, 0xffffffffu - ttl, 40, proto, static_cast<uint8_t>(ttl));
      ASSERT_TRUE(ipv4_dec_ttl(q.data()));
      ASSERT_EQ(q[8], ttl - 1);
      ASSERT_TRUE(v4_header_verifies(q.data())) << ttl;
      expect_recomputed(q.data(), 20, &q[10]);
    }
}

TEST(netpkt_fwd, ttl_1_and_0_are_not_forwarded) {
  for (uint8_t ttl : {uint8_t{1}, uint8_t{0}}) {
    bytes p = ip4(k_host, k_far, 60, k_proto_udp, ttl);
    const bytes before = p;
    EXPECT_FALSE(ipv4_dec_ttl(p.data()));
    EXPECT_EQ(p, before);
  }
}

TEST(netpkt_fwd, hop_limit) {
  bytes p = ip6pkt(k_host6, k_far6, 80);
  ASSERT_TRUE(ipv6_dec_hop_limit(p.data()));
  EXPECT_EQ(p[7], 63);
  p[7] = 2;
  ASSERT_TRUE(ipv6_dec_hop_limit(p.data()));
  EXPECT_EQ(p[7], 1);
  for (uint8_t h : {uint8_t{1}, uint8_t{0}}) {
    p[7] = h;
    const bytes before = p;
    EXPECT_FALSE(ipv6_dec_hop_limit(p.data()));
    EXPECT_EQ(p, before);
  }
}

// ---------------------------------------------------------------------------------------------
// ICMPv4 errors

// Checks the IPv4 + ICMP layout of an error of n bytes in out about orig; returns the quote length.
size_t check_icmp4_error(const uint8_t* out, size_t n, const bytes& orig, uint8_t type, uint8_t code) {
  EXPECT_GE(n, 28u);
  EXPECT_LE(n, 576u);
  EXPECT_EQ(out[0], 0x45);
  EXPECT_EQ(wire::get_u16(out + 2), n);
  EXPECT_EQ(wire::get_u16(out + 4), 0);  // id
  EXPECT_EQ(wire::get_u16(out + 6), 0);  // DF clear, not a fragment
  EXPECT_EQ(out[8], 64);
  EXPECT_EQ(out[9], k_icmp);
  EXPECT_EQ(wire::get_u32(out + 12), k_gw);
  EXPECT_EQ(wire::get_u32(out + 16), wire::get_u32(&orig[12]));  // back to the source
  EXPECT_TRUE(v4_header_verifies(out));
  EXPECT_EQ(naive_sum(out + 20, n - 20), 0xffffu);  // the whole ICMP message folds to 0
  bytes copy(out, out + n);
  expect_recomputed(copy.data() + 20, n - 20, &copy[22]);
  EXPECT_EQ(out[20], type);
  EXPECT_EQ(out[21], code);
  const size_t quote = n - 28;
  EXPECT_TRUE(std::equal(out + 28, out + n, orig.begin())) << "the quote is orig's first bytes";
  return quote;
}

TEST(netpkt_fwd, icmp4_time_exceeded) {
  const bytes orig = ip4(k_host, k_far, 100, k_proto_udp, 1);
  uint8_t out[600];
  const size_t n = icmp4_error(out, sizeof out, k_gw, orig.data(), orig.size(), icmp_error::time_exceeded, 0);
  ASSERT_EQ(n, 20u + 8u + 100u);
  EXPECT_EQ(check_icmp4_error(out, n, orig, 11, 0), 100u);
  EXPECT_EQ(wire::get_u32(out + 24), 0u);  // unused
}

TEST(netpkt_fwd, icmp4_frag_needed_carries_the_mtu) {
  const bytes orig = ip4(k_host, k_far, 1400);
  uint8_t out[2048];
  const size_t n = icmp4_error(out, sizeof out, k_gw, orig.data(), orig.size(), icmp_error::too_big, 1300);
  ASSERT_EQ(n, 576u);  // RFC 1812 §4.3.2.3: as much as fits in 576 bytes
  EXPECT_EQ(check_icmp4_error(out, n, orig, 3, 4), 548u);
  EXPECT_EQ(wire::get_u16(out + 24), 0u);    // unused
  EXPECT_EQ(wire::get_u16(out + 26), 1300u);  // next-hop MTU (RFC 1191 §4)
}

TEST(netpkt_fwd, icmp4_quote_limits) {
  uint8_t out[2048];
  for (size_t len : {20u, 28u, 100u, 547u, 548u, 549u, 1500u}) {
    const bytes orig = ip4(k_host, k_far, len);
    const size_t n = icmp4_error(out, sizeof out, k_gw, orig.data(), orig.size(), icmp_error::time_exceeded, 0);
    ASSERT_EQ(n, 28 + std::min<size_t>(len, 548)) << len;
    check_icmp4_error(out, n, orig, 11, 0);
  }
  // Ethernet padding after the packet is not quoted; a buffer cut short is quoted as far as it goes.
  bytes padded = ip4(k_host, k_far, 30);
  padded.resize(46, 0xee);
  EXPECT_EQ(icmp4_error(out, sizeof out, k_gw, padded.data(), padded.size(), icmp_error::time_exceeded, 0), 58u);
  const bytes big = ip4(k_host, k_far, 1500);
  EXPECT_EQ(icmp4_error(out, sizeof out, k_gw, big.data(), 100, icmp_error::time_exceeded, 0), 128u);
  // cap: exactly enough, one byte short.
  EXPECT_EQ(icmp4_error(out, 576, k_gw, big.data(), big.size(), icmp_error::time_exceeded, 0), 576u);
  EXPECT_EQ(icmp4_error(out, 575, k_gw, big.data(), big.size(), icmp_error::time_exceeded, 0), 0u);
}

size_t err4(const bytes& orig, icmp_error kind = icmp_error::time_exceeded) {
  uint8_t out[1024];
  return icmp4_error(out, sizeof out, k_gw, orig.data(), orig.size(), kind, 1300);
}

// RFC 1812 §4.3.2.7: the datagrams no ICMP error is sent about.
TEST(netpkt_fwd, icmp4_no_error_about_icmp_errors) {
  for (uint8_t t : {uint8_t{3}, uint8_t{4}, uint8_t{5}, uint8_t{11}, uint8_t{12}, uint8_t{99}, uint8_t{255}})
    for (auto kind : {icmp_error::time_exceeded, icmp_error::too_big})
      EXPECT_EQ(err4(icmp4(k_host, k_far, t), kind), 0u) << int{t};
  // Queries are answered with errors like any datagram.
  for (uint8_t t : {uint8_t{0}, uint8_t{8}, uint8_t{13}, uint8_t{14}})
    EXPECT_GT(err4(icmp4(k_host, k_far, t)), 0u) << int{t};
  // An ICMP datagram too short to show its type is not quoted.
  EXPECT_EQ(err4(ip4(k_host, k_far, 20, k_icmp)), 0u);
}

TEST(netpkt_fwd, icmp4_no_error_about_later_fragments) {
  EXPECT_EQ(err4(ip4(k_host, k_far, 100, k_proto_udp, 1, 0x0001)), 0u);  // offset 8
  EXPECT_EQ(err4(ip4(k_host, k_far, 100, k_proto_udp, 1, 0x2010)), 0u);  // MF, offset 128
  EXPECT_EQ(err4(ip4(k_host, k_far, 100, k_icmp, 1, 0x0100)), 0u);
  EXPECT_GT(err4(ip4(k_host, k_far, 100, k_proto_udp, 1, 0x2000)), 0u);  // the first fragment: MF, offset 0
  EXPECT_GT(err4(ip4(k_host, k_far, 100, k_proto_udp, 1, 0x0000)), 0u);
}

TEST(netpkt_fwd, icmp4_no_error_about_sources_that_are_not_one_host) {
  for (uint32_t src : {0x00000000u, 0x00010203u, 0x7f000001u, 0x7fffffffu, 0xe0000001u, 0xefffffffu, 0xf0000001u,
                       0xffffffffu})
    EXPECT_EQ(err4(ip4(src, k_far, 100)), 0u) << std::hex << src;
  for (uint32_t src : {0x01000000u, 0x7e000001u, 0x80000001u, 0xdfffffffu}) EXPECT_GT(err4(ip4(src, k_far, 100)), 0u);
}

TEST(netpkt_fwd, icmp4_no_error_about_multicast_or_broadcast_destinations) {
  for (uint32_t dst : {0xe0000005u, 0xeffffffau, 0xf0000001u, 0xffffffffu})
    for (auto kind : {icmp_error::time_exceeded, icmp_error::too_big})
      EXPECT_EQ(err4(ip4(k_host, dst, 100), kind), 0u) << std::hex << dst;
}

TEST(netpkt_fwd, icmp4_no_error_about_malformed_packets) {
  bytes p = ip4(k_host, k_far, 100);
  uint8_t out[1024];
  EXPECT_EQ(icmp4_error(out, sizeof out, k_gw, p.data(), 19, icmp_error::time_exceeded, 0), 0u);
  bytes v = p;
  v[0] = 0x65;  // version 6
  EXPECT_EQ(err4(v), 0u);
  v = p;
  v[0] = 0x44;  // IHL 4
  EXPECT_EQ(err4(v), 0u);
  v = p;
  v[0] = 0x4f;  // IHL 60: its checksum no longer holds
  EXPECT_EQ(err4(v), 0u);
  v = p;
  v[10] ^= 1;  // header checksum
  EXPECT_EQ(err4(v), 0u);
  v = ip4(k_host, k_far, 100);
  wire::put_u16(&v[2], 19);  // total length below the header
  wire::put_u16(&v[10], 0);
  wire::put_u16(&v[10], naive_csum(v.data(), 20));
  EXPECT_EQ(err4(v), 0u);
  // IHL 6 with a correct checksum is a valid header with options: quoted.
  v = ip4(k_host, k_far, 100);
  v[0] = 0x46;
  wire::put_u16(&v[10], 0);
  wire::put_u16(&v[10], naive_csum(v.data(), 24));
  EXPECT_EQ(err4(v), 128u);
}

// ---------------------------------------------------------------------------------------------
// ICMPv6 errors

size_t check_icmp6_error(const uint8_t* out, size_t n, const bytes& orig, uint8_t type) {
  EXPECT_GE(n, 48u);
  EXPECT_LE(n, 1280u);
  EXPECT_EQ(wire::get_u32(out), 0x60000000u);
  EXPECT_EQ(wire::get_u16(out + 4), n - 40);
  EXPECT_EQ(out[6], k_proto_icmp6);
  EXPECT_EQ(out[7], 64);
  EXPECT_TRUE(std::equal(out + 8, out + 24, k_gw6.begin()));
  EXPECT_TRUE(std::equal(out + 24, out + 40, orig.begin() + 8));  // back to the source
  EXPECT_TRUE(icmp6_verifies(out));
  bytes copy(out, out + n);
  expect_recomputed(copy.data() + 40, n - 40, &copy[42], naive_pseudo6(copy.data(), static_cast<uint32_t>(n - 40), 58));
  EXPECT_EQ(out[40], type);
  EXPECT_EQ(out[41], 0);
  EXPECT_TRUE(std::equal(out + 48, out + n, orig.begin()));
  return n - 48;
}

size_t err6(const bytes& orig, icmp_error kind = icmp_error::time_exceeded) {
  uint8_t out[2048];
  return icmp6_error(out, sizeof out, k_gw6, orig.data(), orig.size(), kind, 1400);
}

TEST(netpkt_fwd, icmp6_time_exceeded) {
  const bytes orig = ip6pkt(k_host6, k_far6, 200, k_proto_udp, 1);
  uint8_t out[2048];
  const size_t n = icmp6_error(out, sizeof out, k_gw6, orig.data(), orig.size(), icmp_error::time_exceeded, 0);
  ASSERT_EQ(n, 248u);
  EXPECT_EQ(check_icmp6_error(out, n, orig, 3), 200u);
  EXPECT_EQ(wire::get_u32(out + 44), 0u);
}

TEST(netpkt_fwd, icmp6_packet_too_big_carries_the_mtu) {
  const bytes orig = ip6pkt(k_host6, k_far6, 1500);
  uint8_t out[2048];
  const size_t n = icmp6_error(out, sizeof out, k_gw6, orig.data(), orig.size(), icmp_error::too_big, 0x00012345);
  ASSERT_EQ(n, 1280u);  // RFC 4443 §2.4 (c): within the minimum MTU
  EXPECT_EQ(check_icmp6_error(out, n, orig, 2), 1232u);
  EXPECT_EQ(wire::get_u32(out + 44), 0x00012345u);
}

TEST(netpkt_fwd, icmp6_quote_limits) {
  uint8_t out[2048];
  for (size_t len : {40u, 48u, 1000u, 1231u, 1232u, 1233u, 1500u}) {
    const bytes orig = ip6pkt(k_host6, k_far6, len);
    const size_t n = icmp6_error(out, sizeof out, k_gw6, orig.data(), orig.size(), icmp_error::too_big, 1280);
    ASSERT_EQ(n, 48 + std::min<size_t>(len, 1232)) << len;
    check_icmp6_error(out, n, orig, 2);
  }
  bytes padded = ip6pkt(k_host6, k_far6, 60);
  padded.resize(80, 0xee);
  EXPECT_EQ(icmp6_error(out, sizeof out, k_gw6, padded.data(), padded.size(), icmp_error::time_exceeded, 0), 108u);
  const bytes big = ip6pkt(k_host6, k_far6, 1500);
  EXPECT_EQ(icmp6_error(out, 1280, k_gw6, big.data(), big.size(), icmp_error::time_exceeded, 0), 1280u);
  EXPECT_EQ(icmp6_error(out, 1279, k_gw6, big.data(), big.size(), icmp_error::time_exceeded, 0), 0u);
}

// RFC 4443 §2.4 (e).
TEST(netpkt_fwd, icmp6_no_error_about_icmp6_errors_or_redirects) {
  for (uint8_t t : {uint8_t{1}, uint8_t{2}, uint8_t{3}, uint8_t{4}, uint8_t{100}, uint8_t{127}, uint8_t{137}})
    for (auto kind : {icmp_error::time_exceeded, icmp_error::too_big})
      EXPECT_EQ(err6(icmp6pkt(k_host6, k_far6, t), kind), 0u) << int{t};
  for (uint8_t t : {uint8_t{128}, uint8_t{129}, uint8_t{135}, uint8_t{136}, uint8_t{143}})
    EXPECT_GT(err6(icmp6pkt(k_host6, k_far6, t)), 0u) << int{t};
  // Behind a hop-by-hop and a destination options header, the type is still found.
  bytes p = ip6pkt(k_host6, k_far6, 40 + 8 + 16 + 8, 0);
  p[40] = 60, p[41] = 0;   // hop-by-hop (8 bytes) -> destination options
  p[48] = 58, p[49] = 1;   // destination options (16 bytes) -> ICMPv6
  p[64] = 1;               // destination unreachable
  EXPECT_EQ(err6(p), 0u);
  p[64] = 128;
  EXPECT_GT(err6(p), 0u);
  // A later fragment does not show its upper layer: quoted. The first fragment of an error is not.
  bytes frag = ip6pkt(k_host6, k_far6, 40 + 8 + 8, k_proto_frag6);
  frag[40] = 58;
  wire::put_u16(&frag[42], 0x0008);  // offset 1 (8 bytes)
  frag[48] = 1;
  EXPECT_GT(err6(frag), 0u);
  wire::put_u16(&frag[42], 0x0001);  // offset 0, M set
  EXPECT_EQ(err6(frag), 0u);
  // A chain cut short, or an ICMPv6 header without its type: not quoted.
  EXPECT_EQ(err6(ip6pkt(k_host6, k_far6, 41, 0)), 0u);
  EXPECT_EQ(err6(ip6pkt(k_host6, k_far6, 40, k_proto_icmp6)), 0u);
  bytes cut = ip6pkt(k_host6, k_far6, 40 + 8, 0);
  cut[40] = 58, cut[41] = 0;
  EXPECT_EQ(err6(cut), 0u);
}

TEST(netpkt_fwd, icmp6_no_error_about_unspecified_or_multicast_sources) {
  const ip6 unspecified{};
  EXPECT_EQ(err6(ip6pkt(unspecified, k_far6, 80)), 0u);
  EXPECT_EQ(err6(ip6pkt(k_all_nodes, k_far6, 80)), 0u);
  EXPECT_EQ(err6(ip6pkt(k_all_nodes, k_far6, 80), icmp_error::too_big), 0u);
}

TEST(netpkt_fwd, icmp6_multicast_destination_gets_too_big_only) {
  const ip6 group{0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  EXPECT_EQ(err6(ip6pkt(k_host6, group, 1500), icmp_error::time_exceeded), 0u);
  EXPECT_EQ(err6(ip6pkt(k_host6, group, 1500), icmp_error::too_big), 1280u);
}

TEST(netpkt_fwd, icmp6_no_error_about_malformed_packets) {
  bytes p = ip6pkt(k_host6, k_far6, 80);
  uint8_t out[2048];
  EXPECT_EQ(icmp6_error(out, sizeof out, k_gw6, p.data(), 39, icmp_error::too_big, 1280), 0u);
  p[0] = 0x45;
  EXPECT_EQ(err6(p), 0u);
}

// ---------------------------------------------------------------------------------------------
// Echo

TEST(netpkt_fwd, icmp4_echo_reply) {
  bytes p = icmp4(k_host, k_gw, 8, 84);
  p[8] = 3;  // a TTL the reply must not keep
  wire::put_u16(&p[10], 0);
  wire::put_u16(&p[10], naive_csum(p.data(), 20));
  const bytes req = p;
  ASSERT_TRUE(icmp4_echo_reply(p.data(), p.size(), k_gw));
  EXPECT_EQ(wire::get_u32(&p[12]), k_gw);
  EXPECT_EQ(wire::get_u32(&p[16]), k_host);
  EXPECT_EQ(p[8], 64);
  EXPECT_EQ(p[20], 0);  // echo reply
  EXPECT_EQ(p[21], 0);
  EXPECT_TRUE(v4_header_verifies(p.data()));
  EXPECT_EQ(naive_sum(&p[20], p.size() - 20), 0xffffu);
  expect_recomputed(&p[20], p.size() - 20, &p[22]);
  expect_recomputed(p.data(), 20, &p[10]);
  EXPECT_TRUE(std::equal(p.begin() + 24, p.end(), req.begin() + 24));  // id, sequence, data unchanged
  // Every identifier / sequence value: the incremental checksum matches a recompute.
  for (unsigned id = 0; id < 65536; id += 251) {
    bytes q = icmp4(k_host, k_gw, 8, 64);
    wire::put_u16(&q[24], static_cast<uint16_t>(id));
    wire::put_u16(&q[22], 0);
    wire::put_u16(&q[22], naive_csum(&q[20], 44));
    ASSERT_TRUE(icmp4_echo_reply(q.data(), q.size(), k_gw));
    ASSERT_EQ(naive_sum(&q[20], 44), 0xffffu) << id;
  }
  // Ethernet padding behind the packet is left alone.
  bytes padded = icmp4(k_host, k_gw, 8, 30);
  padded.resize(46, 0);
  EXPECT_TRUE(icmp4_echo_reply(padded.data(), padded.size(), k_gw));
}

TEST(netpkt_fwd, icmp4_echo_reply_refused) {
  auto refused = [](bytes p, uint32_t ours = k_gw, size_t len = 0) {
    const bytes before = p;
    const bool r = icmp4_echo_reply(p.data(), len ? len : p.size(), ours);
    EXPECT_EQ(p, before) << "left untouched";
    return !r;
  };
  EXPECT_TRUE(refused(icmp4(k_host, k_gw, 8), k_far));  // another address
  EXPECT_TRUE(refused(icmp4(k_host, k_far, 8)));
  for (uint8_t t : {uint8_t{0}, uint8_t{3}, uint8_t{13}, uint8_t{128}}) EXPECT_TRUE(refused(icmp4(k_host, k_gw, t)));
  EXPECT_TRUE(refused(ip4(k_host, k_gw, 64)));           // UDP
  EXPECT_TRUE(refused(icmp4(k_host, k_gw, 8, 84), k_gw, 83));  // truncated
  EXPECT_TRUE(refused(icmp4(k_host, k_gw, 8, 84), k_gw, 27));
  EXPECT_TRUE(refused(ip4(k_host, k_gw, 27, k_icmp)));   // shorter than an ICMP header
  bytes p = icmp4(k_host, k_gw, 8);
  p[23] ^= 1;  // ICMP checksum
  EXPECT_TRUE(refused(p));
  p = icmp4(k_host, k_gw, 8);
  p[10] ^= 1;  // header checksum
  EXPECT_TRUE(refused(p));
  p = icmp4(k_host, k_gw, 8);
  p[21] = 1;  // code
  wire::put_u16(&p[22], 0);
  wire::put_u16(&p[22], naive_csum(&p[20], p.size() - 20));
  EXPECT_TRUE(refused(p));
  for (uint32_t src : {0u, 0x7f000001u, 0xe0000001u, 0xffffffffu}) EXPECT_TRUE(refused(icmp4(src, k_gw, 8)));
  for (uint16_t frag : {uint16_t{0x2000}, uint16_t{0x0001}}) {  // a fragment (first or later)
    p = icmp4(k_host, k_gw, 8);
    wire::put_u16(&p[6], frag);
    wire::put_u16(&p[10], 0);
    wire::put_u16(&p[10], naive_csum(p.data(), 20));
    EXPECT_TRUE(refused(p));
  }
}

// An echo request b -> a captured from Linux (tests/unit/test_netpkt6.cc's vector).
const char* k_echo6 =
    "020000000a01020000000b0186dd6005ae8e00403a40fd000203000000000000"
    "000000000011fd000203000000000000000000000001800037ef41540001ecbc"
    "0a6b000000004f2c030000000000101112131415161718191a1b1c1d1e1f2021"
    "22232425262728292a2b2c2d2e2f3031323334353637";
const ip6 k_ip_a{0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const ip6 k_ip_b{0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
const mac k_mac_a{2, 0, 0, 0, 0x0a, 1};
const mac k_mac_b{2, 0, 0, 0, 0x0b, 1};

TEST(netpkt_fwd, icmp6_echo_reply) {
  const bytes f = hex(k_echo6);
  bytes ip(f.begin() + 14, f.end());
  const bytes req = ip;
  ASSERT_TRUE(icmp6_echo_reply(ip.data(), ip.size(), k_ip_a));
  EXPECT_TRUE(std::equal(ip.begin() + 8, ip.begin() + 24, k_ip_a.begin()));
  EXPECT_TRUE(std::equal(ip.begin() + 24, ip.begin() + 40, k_ip_b.begin()));
  EXPECT_EQ(ip[7], 64);
  EXPECT_EQ(ip[40], 129);
  EXPECT_EQ(ip[41], 0);
  EXPECT_TRUE(icmp6_verifies(ip.data()));
  const auto l4 = static_cast<uint32_t>(ip.size() - 40);
  expect_recomputed(&ip[40], l4, &ip[42], naive_pseudo6(ip.data(), l4, 58));
  EXPECT_TRUE(std::equal(ip.begin() + 44, ip.end(), req.begin() + 44));
  EXPECT_EQ(wire::get_u32(&ip[0]), wire::get_u32(&req[0]));  // traffic class and flow label kept
}

TEST(netpkt_fwd, icmp6_echo_reply_refused) {
  auto refused = [](bytes p, const ip6& ours = k_gw6, size_t len = 0) {
    const bytes before = p;
    const bool r = icmp6_echo_reply(p.data(), len ? len : p.size(), ours);
    EXPECT_EQ(p, before) << "left untouched";
    return !r;
  };
  EXPECT_TRUE(refused(icmp6pkt(k_host6, k_gw6, 128), k_far6));
  EXPECT_TRUE(refused(icmp6pkt(k_host6, k_far6, 128)));
  for (uint8_t t : {uint8_t{129}, uint8_t{1}, uint8_t{135}, uint8_t{8}})
    EXPECT_TRUE(refused(icmp6pkt(k_host6, k_gw6, t)));
  EXPECT_TRUE(refused(ip6pkt(k_host6, k_gw6, 64)));
  EXPECT_TRUE(refused(icmp6pkt(k_host6, k_gw6, 128, 100), k_gw6, 99));  // truncated
  EXPECT_TRUE(refused(icmp6pkt(k_host6, k_gw6, 128, 48), k_gw6, 47));
  EXPECT_TRUE(refused(ip6pkt(k_host6, k_gw6, 47, k_proto_icmp6)));
  bytes p = icmp6pkt(k_host6, k_gw6, 128);
  p[43] ^= 1;
  EXPECT_TRUE(refused(p));
  EXPECT_TRUE(refused(icmp6pkt(ip6{}, k_gw6, 128)));
  EXPECT_TRUE(refused(icmp6pkt(k_all_nodes, k_gw6, 128)));
  p = icmp6pkt(k_host6, k_gw6, 128);
  p[0] = 0x40;
  EXPECT_TRUE(refused(p));
}

// ---------------------------------------------------------------------------------------------
// ARP

TEST(netpkt_fwd, arp_request_layout) {
  uint8_t f[64];
  std::fill(f, f + sizeof f, 0xcc);
  const mac ours{0x02, 0, 0, 0, 0, 2};
  ASSERT_EQ(arp_request(f, sizeof f, ours, k_gw, k_far), k_arp_frame);
  // Built by hand from RFC 826: broadcast, our MAC, 0806; 1, 0800, 6, 4, request; sha, spa, tha 0, tpa.
  bytes want = hex(
      "ffffffffffff020000000002" "0806"
      "0001" "0800" "06" "04" "0001" "020000000002" "c0a80101" "000000000000" "c0a80114");
  want.resize(60, 0);
  EXPECT_EQ(bytes(f, f + 60), want);
  EXPECT_EQ(f[60], 0xcc) << "nothing written past the frame";
  EXPECT_EQ(arp_request(f, 59, ours, k_gw, k_far), 0u);
  // The request parses as one.
  arp_info a;
  ASSERT_TRUE(arp_parse(f, 60, a));
  EXPECT_EQ(a.op, 1);
  EXPECT_EQ(a.sha, ours);
  EXPECT_EQ(a.spa, k_gw);
  EXPECT_EQ(a.tha, mac{});
  EXPECT_EQ(a.tpa, k_far);
}

TEST(netpkt_fwd, arp_parse_reply_and_bad_frames) {
  // 192.168.1.20 at 02:00:00:00:09:09 answers 192.168.1.1 (42 bytes, unpadded as a host sends it).
  const bytes reply = hex(
      "020000000002020000000909" "0806"
      "0001" "0800" "06" "04" "0002" "020000000909" "c0a80114" "020000000002" "c0a80101");
  ASSERT_EQ(reply.size(), 42u);
  arp_info a;
  ASSERT_TRUE(arp_parse(reply.data(), reply.size(), a));
  EXPECT_EQ(a.op, 2);
  EXPECT_EQ(a.sha, (mac{2, 0, 0, 0, 9, 9}));
  EXPECT_EQ(a.spa, k_far);
  EXPECT_EQ(a.tha, (mac{2, 0, 0, 0, 0, 2}));
  EXPECT_EQ(a.tpa, k_gw);
  EXPECT_FALSE(arp_parse(reply.data(), 41, a));
  struct { size_t at; uint8_t v; } bad[] = {
      {12, 0x86},      // EtherType
      {15, 6},         // htype 6 (IEEE 802)
      {16, 0x86},      // ptype
      {18, 8},         // hlen
      {19, 16},        // plen
      {21, 3},         // op 3 (RARP)
      {21, 0},         // op 0
  };
  for (const auto& b : bad) {
    bytes f = reply;
    f[b.at] = b.v;
    EXPECT_FALSE(arp_parse(f.data(), f.size(), a)) << b.at;
  }
}

// ---------------------------------------------------------------------------------------------
// Neighbor Discovery

// Captured from Linux 6.x (tests/unit/test_netpkt6.cc, tools/capture-nd-vectors.sh): b
// (02:00:00:00:0b:01, fd00:203::11) asks for fd00:203::1 and a (02:00:00:00:0a:01) answers.
const char* k_ns_multicast =
    "3333ff000001020000000b0186dd6000000000203afffd000203000000000000"
    "000000000011ff0200000000000000000001ff00000187006e8300000000fd00"
    "02030000000000000000000000010101020000000b01";
const char* k_na_multicast =
    "020000000b01020000000a0186dd6000000000203afffd000203000000000000"
    "000000000001fd00020300000000000000000000001188000c8460000000fd00"
    "02030000000000000000000000010201020000000a01";
// a defends its address against b's DAD probe: to all-nodes, S clear.
const char* k_na_dad =
    "333300000001020000000a0186dd6000000000203afffd000203000000000000"
    "000000000001ff02000000000000000000000000000188004c9520000000fd00"
    "02030000000000000000000000010201020000000a01";

TEST(netpkt_fwd, nd_solicit_is_what_linux_sends) {
  uint8_t f[128];
  ASSERT_EQ(nd_solicit(f, sizeof f, k_mac_b, k_ip_b, k_ip_a), 86u);
  EXPECT_EQ(bytes(f, f + 86), hex(k_ns_multicast));
  EXPECT_EQ(nd_solicit(f, 85, k_mac_b, k_ip_b, k_ip_a), 0u);
}

TEST(netpkt_fwd, nd_solicit_goes_to_the_solicited_node_group) {
  const ip6 target{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
  const mac ours{2, 0, 0, 0, 0, 2};
  uint8_t f[86];
  ASSERT_EQ(nd_solicit(f, sizeof f, ours, k_gw6, target), 86u);
  EXPECT_EQ(bytes(f, f + 6), (bytes{0x33, 0x33, 0xff, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(bytes(f + 6, f + 12), bytes(ours.begin(), ours.end()));
  EXPECT_EQ(wire::get_u16(f + 12), 0x86dd);
  const uint8_t* ip = f + 14;
  EXPECT_EQ(ip[6], 58);
  EXPECT_EQ(ip[7], 255);
  EXPECT_EQ(wire::get_u16(ip + 4), 32);
  EXPECT_TRUE(std::equal(ip + 8, ip + 24, k_gw6.begin()));
  EXPECT_EQ(bytes(ip + 24, ip + 40), hex("ff0200000000000000000001ffadbeef"));
  EXPECT_EQ(ip[40], 135);
  EXPECT_EQ(ip[41], 0);
  EXPECT_EQ(wire::get_u32(ip + 44), 0u);
  EXPECT_TRUE(std::equal(ip + 48, ip + 64, target.begin()));
  EXPECT_EQ(ip[64], 1);  // source link-layer address, 8 bytes
  EXPECT_EQ(ip[65], 1);
  EXPECT_TRUE(std::equal(ip + 66, ip + 72, ours.begin()));
  EXPECT_TRUE(icmp6_verifies(ip));
  // And the target's stack (nd_make_advert) takes it and answers it.
  bytes g(f, f + 86);
  size_t len = g.size();
  EXPECT_EQ(nd_make_advert(g.data(), len, g.size(), target, mac{2, 0, 0, 0, 7, 7}), nd_result::advert);
  na_info na;
  ASSERT_TRUE(nd_parse_advert(g.data(), len, na));
  EXPECT_EQ(na.target, target);
  EXPECT_EQ(na.src, target);
  EXPECT_TRUE(na.has_tlla);
  EXPECT_EQ(na.tlla, (mac{2, 0, 0, 0, 7, 7}));
  EXPECT_TRUE(na.solicited);
}

TEST(netpkt_fwd, nd_parse_advert_from_linux) {
  na_info na;
  bytes f = hex(k_na_multicast);
  ASSERT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  EXPECT_EQ(na.src, k_ip_a);
  EXPECT_EQ(na.target, k_ip_a);
  EXPECT_TRUE(na.has_tlla);
  EXPECT_EQ(na.tlla, k_mac_a);
  EXPECT_TRUE(na.solicited);
  EXPECT_TRUE(na.override_flag);
  EXPECT_FALSE(na.router);
  f = hex(k_na_dad);
  na = {};
  ASSERT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  EXPECT_FALSE(na.solicited);
  EXPECT_TRUE(na.override_flag);
  EXPECT_EQ(na.tlla, k_mac_a);
  // Not an NA: the solicitation itself, an echo request.
  f = hex(k_ns_multicast);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = hex(k_echo6);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
}

// An NA from k_far6 for target with the given options, to k_gw6; checksum right.
bytes na_frame(const ip6& target, const bytes& opts, uint32_t flags = 0x60000000, const ip6& dst = k_gw6) {
  bytes f(14 + 40 + 24 + opts.size());
  write_eth(f.data(), {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 9, 9}, k_ethertype_ipv6);
  uint8_t* ip = f.data() + 14;
  wire::put_u32(ip, 0x60000000);
  wire::put_u16(ip + 4, static_cast<uint16_t>(24 + opts.size()));
  ip[6] = 58;
  ip[7] = 255;
  std::copy(k_far6.begin(), k_far6.end(), ip + 8);
  std::copy(dst.begin(), dst.end(), ip + 24);
  ip[40] = 136;
  wire::put_u32(ip + 44, flags);
  std::copy(target.begin(), target.end(), ip + 48);
  std::copy(opts.begin(), opts.end(), ip + 64);
  const uint32_t l4 = static_cast<uint32_t>(24 + opts.size());
  wire::put_u16(ip + 42, naive_csum(ip + 40, l4, naive_pseudo6(ip, l4, 58)));
  return f;
}
void fix_csum(bytes& f) {
  uint8_t* ip = f.data() + 14;
  const uint16_t l4 = wire::get_u16(ip + 4);
  wire::put_u16(ip + 42, 0);
  wire::put_u16(ip + 42, naive_csum(ip + 40, l4, naive_pseudo6(ip, l4, 58)));
}

TEST(netpkt_fwd, nd_parse_advert_validation) {
  const bytes tlla = {2, 1, 2, 0, 0, 0, 9, 9};
  na_info na;
  bytes f = na_frame(k_far6, tlla);
  ASSERT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  EXPECT_EQ(na.src, k_far6);
  EXPECT_EQ(na.tlla, (mac{2, 0, 0, 0, 9, 9}));
  EXPECT_TRUE(na.solicited && na.override_flag && !na.router);
  // Without options; with an unknown option before the TLLA; with the router flag.
  f = na_frame(k_far6, {});
  na = {};
  ASSERT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  EXPECT_FALSE(na.has_tlla);
  bytes two = {14, 1, 1, 2, 3, 4, 5, 6};
  two.insert(two.end(), tlla.begin(), tlla.end());
  f = na_frame(k_far6, two, 0xe0000000);
  ASSERT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  EXPECT_TRUE(na.has_tlla && na.router);
  EXPECT_EQ(na.tlla, (mac{2, 0, 0, 0, 9, 9}));
  // Unsolicited to all-nodes: fine. Solicited to a multicast group: refused (RFC 4861 §7.1.2).
  f = na_frame(k_far6, tlla, 0x20000000, k_all_nodes);
  EXPECT_TRUE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_far6, tlla, 0x60000000, k_all_nodes);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));

  f = na_frame(k_far6, tlla);
  f[14 + 7] = 254;  // hop limit
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f[14 + 7] = 64;
  fix_csum(f);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_far6, tlla);
  f[14 + 43] ^= 0x10;  // checksum
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_far6, tlla);
  f[14 + 41] = 1;  // code
  fix_csum(f);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_all_nodes, tlla);  // multicast target
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_far6, {2, 0, 2, 0, 0, 0, 9, 9});  // zero-length option
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  f = na_frame(k_far6, {2, 2, 2, 0, 0, 0, 9, 9});  // option runs past the end
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  // ICMPv6 length 20 (< 24): the target is cut short.
  f = na_frame(k_far6, {});
  f.resize(f.size() - 4);
  wire::put_u16(&f[14 + 4], 20);
  fix_csum(f);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), na));
  // The frame shorter than the IPv6 payload length says.
  f = na_frame(k_far6, tlla);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size() - 1, na));
  // A failed parse leaves out as it was.
  na_info keep;
  keep.has_tlla = true;
  keep.tlla = {9, 9, 9, 9, 9, 9};
  f = na_frame(k_all_nodes, tlla);
  EXPECT_FALSE(nd_parse_advert(f.data(), f.size(), keep));
  EXPECT_EQ(keep.tlla, (mac{9, 9, 9, 9, 9, 9}));
}

}  // namespace
