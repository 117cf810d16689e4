// SPDX-License-Identifier: MIT
// Outer headers: checksum against a naive RFC 1071 sum, frame parsing edge cases, ARP replies,
// outer IPv4/UDP building (the kernel-visible checksums must verify), inner IPv6 parsing and the
// TCP MSS clamp for inner IPv4 and IPv6.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
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
  for (bool wide : {false, true}) {  // both vector widths the CPU offers
    const bool was = csum_vector_width(wide);
    std::mt19937 rng(1);
    std::vector<uint8_t> buf(2100);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    for (size_t off = 0; off < 8; ++off)
      for (size_t n = 0; n < 1600; n += (n < 80 ? 1 : 37))
        ASSERT_EQ(csum_partial(buf.data() + off, n, 0x1234), naive_sum(buf.data() + off, n, 0x1234))
            << "off " << off << " len " << n;
    std::vector<uint8_t> ff(1500, 0xff);
    EXPECT_EQ(csum_partial(ff.data(), ff.size()), naive_sum(ff.data(), ff.size()));
    csum_vector_width(was);
  }
}

// Short buffers take the scalar words with their carries: words near 0 and near 2^64 make the
// carries (and the end-around carry of the last one) happen, at every length up to 300.
TEST(netpkt, checksum_of_short_buffers_with_carries) {
  std::mt19937_64 rng(7);
  const uint64_t pick[] = {0, 1, 2, ~uint64_t{0}, ~uint64_t{1}, uint64_t{1} << 63};
  std::vector<uint8_t> buf(320);
  for (int round = 0; round < 200; ++round) {
    for (size_t k = 0; k + 8 <= buf.size(); k += 8) {
      const uint64_t w = rng() % 4 ? pick[rng() % 6] : rng();
      std::memcpy(&buf[k], &w, 8);
    }
    for (size_t n = 0; n <= 300; ++n)
      ASSERT_EQ(csum_partial(buf.data(), n, 0xfffe), naive_sum(buf.data(), n, 0xfffe)) << "round " << round << " len " << n;
  }
}

TEST(netpkt, checksum_of_a_buffer_past_the_vector_lanes_block) {
  // All-ones words push every accumulator lane to its limit; 5 MiB crosses the 2 MiB block in
  // which a 32-bit lane is safe, with an odd tail.
  std::vector<uint8_t> ff((5u << 20) + 37, 0xff);
  ff.back() = 0x12;
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < ff.size(); i += 2) sum += static_cast<uint32_t>(ff[i] << 8 | ff[i + 1]);
  sum += static_cast<uint32_t>(ff.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  for (bool wide : {false, true}) {
    const bool was = csum_vector_width(wide);
    EXPECT_EQ(csum_partial(ff.data(), ff.size()), sum) << wide;
    csum_vector_width(was);
  }
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

// The sealing side's prepared headers: the same bytes as write_outer_v4 with udp_csum_v4's
// checksum (or 0 without a payload sum), for many endpoints, ids and lengths, the checksums
// verifying over the frame.
TEST(netpkt, outer_headers_from_a_template_equal_the_built_ones) {
  std::mt19937 rng(11);
  std::vector<uint8_t> a(k_outer_v4 + 1500), b(a.size());
  for (int k = 0; k < 20000; ++k) {
    udp_endpoints e;
    for (auto& x : e.src_mac) x = static_cast<uint8_t>(rng());
    for (auto& x : e.dst_mac) x = static_cast<uint8_t>(rng());
    e.src_ip = k % 7 == 0 ? 0xffffffffu : static_cast<uint32_t>(rng());
    e.dst_ip = k % 5 == 0 ? 0xffffffffu : static_cast<uint32_t>(rng());
    e.src_port = static_cast<uint16_t>(rng());
    e.dst_port = k % 3 == 0 ? 0xffff : static_cast<uint16_t>(rng());
    const size_t n = rng() % 1500;
    const auto id = static_cast<uint16_t>(rng());
    for (size_t i = 0; i < n; ++i) a[k_outer_v4 + i] = b[k_outer_v4 + i] = static_cast<uint8_t>(k % 11 == 0 ? 0xff : rng());
    const uint32_t sum = csum_partial(&a[k_outer_v4], n);
    write_outer_v4(a.data(), e, n, id, false);
    wire::put_u16(&a[k_eth_hdr + k_ipv4_hdr + 6], udp_csum_v4(e, n, sum));
    outer_v4_tmpl t;
    make_outer_v4_tmpl(t, e.src_mac, e.src_ip, e.src_port);
    write_outer_v4_tmpl(b.data(), t, e.dst_mac, e.dst_ip, e.dst_port, n, id, &sum);
    ASSERT_TRUE(std::equal(a.begin(), a.begin() + k_outer_v4, b.begin())) << k;
    ASSERT_EQ(csum_fold(csum_partial(&b[k_eth_hdr], k_ipv4_hdr)), 0) << k;
    write_outer_v4_tmpl(b.data(), t, e.dst_mac, e.dst_ip, e.dst_port, n, id, nullptr);
    wire::put_u16(&a[k_eth_hdr + k_ipv4_hdr + 6], 0);
    ASSERT_TRUE(std::equal(a.begin(), a.begin() + k_outer_v4, b.begin())) << k;
  }
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

TEST(netpkt, inner_v6_addresses) {
  std::vector<uint8_t> ip(40 + 12, 0);
  ip[0] = 0x60;
  wire::put_u16(ip.data() + 4, 12);
  ip[6] = k_proto_udp;
  for (int i = 0; i < 16; ++i) {
    ip[8 + i] = static_cast<uint8_t>(0x20 + i);
    ip[24 + i] = static_cast<uint8_t>(0x40 + i);
  }
  inner_v6 h;
  ASSERT_TRUE(inner_v6_addrs(ip.data(), ip.size(), h));
  EXPECT_EQ(h.src, ip.data() + 8);
  EXPECT_EQ(h.dst, ip.data() + 24);
  EXPECT_EQ(h.next_header, k_proto_udp);
  EXPECT_EQ(ip_version(ip.data(), ip.size()), 6u);
  EXPECT_FALSE(inner_v6_addrs(ip.data(), ip.size() - 1, h));  // payload length says 12, 11 follow
  ip.push_back(0);
  EXPECT_FALSE(inner_v6_addrs(ip.data(), ip.size(), h));      // a trailing byte it does not cover
  ip.pop_back();
  EXPECT_FALSE(inner_v6_addrs(ip.data(), 39, h));             // no whole header
  wire::put_u16(ip.data() + 4, 0);                            // jumbogram / header only
  EXPECT_TRUE(inner_v6_addrs(ip.data(), 40, h));
  EXPECT_FALSE(inner_v6_addrs(ip.data(), ip.size(), h));
  ip[0] = 0x45;
  EXPECT_FALSE(inner_v6_addrs(ip.data(), 40, h));
  EXPECT_EQ(ip_version(ip.data(), 0), 0u);
}

// An IPv4/TCP packet with the given options and payload, checksums correct.
std::vector<uint8_t> tcp_packet(uint8_t flags, const std::vector<uint8_t>& opts, size_t payload = 0) {
  const size_t doff = 20 + opts.size();
  std::vector<uint8_t> p(20 + doff + payload, 0);
  p[0] = 0x45;
  wire::put_u16(p.data() + 2, static_cast<uint16_t>(p.size()));
  p[8] = 64;
  p[9] = k_proto_tcp;
  wire::put_u32(p.data() + 12, 0x0a080002);
  wire::put_u32(p.data() + 16, 0x0a080003);
  uint8_t* t = p.data() + 20;
  wire::put_u16(t, 40000);
  wire::put_u16(t + 2, 5201);
  wire::put_u32(t + 4, 0x12345678);
  t[12] = static_cast<uint8_t>((doff / 4) << 4);
  t[13] = flags;
  wire::put_u16(t + 14, 64240);
  std::copy(opts.begin(), opts.end(), t + 20);
  for (size_t i = 0; i < payload; ++i) t[doff + i] = static_cast<uint8_t>(i * 7 + 1);
  wire::put_u16(p.data() + 10, ipv4_header_checksum(p.data(), 20));
  const size_t l4 = p.size() - 20;
  uint32_t ps = naive_sum(p.data() + 12, 8) + k_proto_tcp + static_cast<uint32_t>(l4);
  wire::put_u16(t + 16, static_cast<uint16_t>(~naive_sum(t, l4, ps) & 0xffff));
  return p;
}

bool tcp_checksum_ok(const std::vector<uint8_t>& p) {
  const size_t l4 = p.size() - 20;
  uint32_t ps = naive_sum(p.data() + 12, 8) + k_proto_tcp + static_cast<uint32_t>(l4);
  return naive_sum(p.data() + 20, l4, ps) == 0xffff;
}

uint16_t mss_at(const std::vector<uint8_t>& p, size_t opt_off) { return wire::get_u16(p.data() + 40 + opt_off + 2); }

constexpr uint8_t k_syn = 0x02, k_ack = 0x10;

TEST(netpkt_mss, syn_with_mss_1460_is_clamped_and_checksum_verifies) {
  // A Linux SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale.
  const std::vector<uint8_t> opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  auto p = tcp_packet(k_syn, opts);
  ASSERT_TRUE(tcp_checksum_ok(p));
  EXPECT_EQ(tcp_mss_clamp(p.data(), p.size(), 1400), mss_result::clamped);
  EXPECT_EQ(mss_at(p, 0), 1400);
  EXPECT_TRUE(tcp_checksum_ok(p));
  EXPECT_EQ(tcp_mss_clamp(p.data(), p.size(), 1400), mss_result::within);  // idempotent
  auto sa = tcp_packet(k_syn | k_ack, opts);
  EXPECT_EQ(tcp_mss_clamp(sa.data(), sa.size(), 1360), mss_result::clamped);
  EXPECT_EQ(mss_at(sa, 0), 1360);
  EXPECT_TRUE(tcp_checksum_ok(sa));
}

TEST(netpkt_mss, checksum_verifies_for_many_values_and_odd_offsets) {
  for (uint32_t mss = 600; mss < 65536; mss += 997) {
    for (uint16_t clamp : {uint16_t{536}, uint16_t{1200}, uint16_t{1400}, uint16_t{1}}) {
      // Even offset (MSS first) and odd offset (one NOP before it), with and without payload.
      for (size_t nops = 0; nops < 4; ++nops) {
        std::vector<uint8_t> opts(nops, 1);
        for (uint8_t b : {uint8_t{2}, uint8_t{4}, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)})
          opts.push_back(b);
        while (opts.size() % 4) opts.push_back(0);
        auto p = tcp_packet(k_syn, opts, nops);
        const auto r = tcp_mss_clamp(p.data(), p.size(), clamp);
        ASSERT_EQ(r, mss > clamp ? mss_result::clamped : mss_result::within) << mss << " " << clamp;
        ASSERT_EQ(mss_at(p, nops), mss > clamp ? clamp : mss);
        ASSERT_TRUE(tcp_checksum_ok(p)) << "mss " << mss << " clamp " << clamp << " nops " << nops;
      }
    }
  }
}

TEST(netpkt_mss, non_syn_and_non_tcp_untouched) {
  const std::vector<uint8_t> opts = {2, 4, 0x05, 0xb4};
  auto p = tcp_packet(k_ack, opts, 10);
  const auto before = p;
  EXPECT_EQ(tcp_mss_clamp(p.data(), p.size(), 1000), mss_result::not_syn);
  EXPECT_EQ(p, before);
  auto u = tcp_packet(k_syn, opts);
  u[9] = k_proto_udp;
  EXPECT_EQ(tcp_mss_clamp(u.data(), u.size(), 1000), mss_result::not_syn);
  auto frag = tcp_packet(k_syn, opts);
  wire::put_u16(frag.data() + 6, 0x0001);  // fragment offset 8: no TCP header here
  EXPECT_EQ(tcp_mss_clamp(frag.data(), frag.size(), 1000), mss_result::not_syn);
  auto none = tcp_packet(k_syn, {1, 1, 1, 0});
  EXPECT_EQ(tcp_mss_clamp(none.data(), none.size(), 1000), mss_result::no_option);
  auto after_eol = tcp_packet(k_syn, {0, 0, 0, 0, 2, 4, 0x05, 0xb4});  // MSS after end-of-list
  EXPECT_EQ(tcp_mss_clamp(after_eol.data(), after_eol.size(), 1000), mss_result::no_option);
}

TEST(netpkt_mss, malformed_options_and_headers_left_untouched) {
  auto check = [](std::vector<uint8_t> p, size_t len) {
    const auto before = p;
    EXPECT_EQ(tcp_mss_clamp(p.data(), len, 1000), mss_result::malformed);
    EXPECT_EQ(p, before);
  };
  check(tcp_packet(k_syn, {3, 0, 0, 0}), 44);               // option length 0
  check(tcp_packet(k_syn, {3, 1, 0, 0}), 44);               // option length 1
  check(tcp_packet(k_syn, {1, 1, 3, 9}), 44);               // runs past data offset
  check(tcp_packet(k_syn, {1, 1, 1, 2}), 44);               // kind without its length byte
  check(tcp_packet(k_syn, {2, 3, 0x05, 0}), 44);            // MSS with length 3
  check(tcp_packet(k_syn, {2, 6, 0x05, 0xb4, 0, 0, 0, 0}), 48);  // MSS with length 6
  auto p = tcp_packet(k_syn, {2, 4, 0x05, 0xb4});
  check(p, 43);                                             // truncated: total length > buffer
  check(p, 19);                                             // no IPv4 header
  auto bad_doff = p;
  bad_doff[32] = 0xf0;                                      // data offset 60 > segment
  check(bad_doff, bad_doff.size());
  auto small_doff = p;
  small_doff[32] = 0x40;                                    // data offset 16 < 20
  check(small_doff, small_doff.size());
  auto short_tcp = p;
  wire::put_u16(short_tcp.data() + 2, 30);                  // IPv4 total length cuts the TCP header
  check(short_tcp, short_tcp.size());
  auto v6 = p;
  v6[0] = 0x60;
  check(v6, v6.size());
}

// An IPv6 packet with the given extension headers (already chained: ext[0] is the first one's
// next-header byte and so on) before a TCP segment, upper-layer checksum correct (RFC 8200 §8.1).
std::vector<uint8_t> tcp6_packet(uint8_t flags, const std::vector<uint8_t>& opts, uint8_t first_nh = k_proto_tcp,
                                 const std::vector<uint8_t>& ext = {}) {
  const auto v4 = tcp_packet(flags, opts, 3);
  const std::vector<uint8_t> tcp(v4.begin() + 20, v4.end());
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x60;
  wire::put_u16(p.data() + 4, static_cast<uint16_t>(ext.size() + tcp.size()));
  p[6] = first_nh;
  p[7] = 64;
  for (int i = 0; i < 16; ++i) {
    p[8 + i] = static_cast<uint8_t>(i == 0 ? 0xfd : i);
    p[24 + i] = static_cast<uint8_t>(0xa0 + i * 3);
  }
  p.insert(p.end(), ext.begin(), ext.end());
  const size_t t = p.size();
  p.insert(p.end(), tcp.begin(), tcp.end());
  wire::put_u16(p.data() + t + 16, 0);
  uint32_t ps = naive_sum(p.data() + 8, 32) + static_cast<uint32_t>(tcp.size()) + k_proto_tcp;
  wire::put_u16(p.data() + t + 16, static_cast<uint16_t>(~naive_sum(p.data() + t, tcp.size(), ps) & 0xffff));
  return p;
}

bool tcp6_checksum_ok(const std::vector<uint8_t>& p, size_t tcp_off) {
  const size_t l4 = p.size() - tcp_off;
  uint32_t ps = naive_sum(p.data() + 8, 32) + static_cast<uint32_t>(l4) + k_proto_tcp;
  return naive_sum(p.data() + tcp_off, l4, ps) == 0xffff;
}

TEST(netpkt_mss, ipv6_syn_is_clamped_and_checksum_verifies) {
  const std::vector<uint8_t> opts = {2, 4, 0x05, 0xa0, 4, 2, 1, 1};  // MSS 1440 (1500 - 60), SACK ok
  auto p = tcp6_packet(k_syn, opts);
  ASSERT_TRUE(tcp6_checksum_ok(p, 40));
  EXPECT_EQ(tcp_mss_clamp_v6(p.data(), p.size(), 1380), mss_result::clamped);
  EXPECT_EQ(wire::get_u16(p.data() + 40 + 22), 1380);
  EXPECT_TRUE(tcp6_checksum_ok(p, 40));
  EXPECT_EQ(tcp_mss_clamp_v6(p.data(), p.size(), 1380), mss_result::within);
  EXPECT_EQ(tcp_mss_clamp(p.data(), p.size(), 1380), mss_result::malformed);  // the IPv4 one refuses it
  auto v4 = tcp_packet(k_syn, opts);
  EXPECT_EQ(tcp_mss_clamp_v6(v4.data(), v4.size(), 1380), mss_result::malformed);
}

TEST(netpkt_mss, ipv6_extension_headers) {
  const std::vector<uint8_t> opts = {1, 2, 4, 0x05, 0xa0, 1, 1, 0};  // MSS at an odd offset
  // Hop-by-hop (PadN to 8 bytes), then destination options 16 bytes long, then TCP.
  const std::vector<uint8_t> hbh_dst = {60, 0, 1, 4, 0, 0, 0, 0,
                                        k_proto_tcp, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto p = tcp6_packet(k_syn, opts, 0, hbh_dst);
  ASSERT_TRUE(tcp6_checksum_ok(p, 64));
  EXPECT_EQ(tcp_mss_clamp_v6(p.data(), p.size(), 1200), mss_result::clamped);
  EXPECT_EQ(wire::get_u16(p.data() + 64 + 23), 1200);
  EXPECT_TRUE(tcp6_checksum_ok(p, 64));
  // A first fragment carries the TCP header; a later one does not.
  const std::vector<uint8_t> frag0 = {k_proto_tcp, 0, 0x00, 0x01, 0, 0, 0, 9};  // offset 0, M set
  auto f0 = tcp6_packet(k_syn, opts, 44, frag0);
  EXPECT_EQ(tcp_mss_clamp_v6(f0.data(), f0.size(), 1200), mss_result::clamped);
  EXPECT_TRUE(tcp6_checksum_ok(f0, 48));
  const std::vector<uint8_t> frag1 = {k_proto_tcp, 0, 0x00, 0x08, 0, 0, 0, 9};  // offset 1
  auto f1 = tcp6_packet(k_syn, opts, 44, frag1);
  const auto f1_before = f1;
  EXPECT_EQ(tcp_mss_clamp_v6(f1.data(), f1.size(), 1200), mss_result::not_syn);
  EXPECT_EQ(f1, f1_before);
  // ESP, UDP, no next header, a non-SYN: untouched.
  auto esp = tcp6_packet(k_syn, opts, 50);
  EXPECT_EQ(tcp_mss_clamp_v6(esp.data(), esp.size(), 1200), mss_result::not_syn);
  auto udp = tcp6_packet(k_syn, opts, k_proto_udp);
  EXPECT_EQ(tcp_mss_clamp_v6(udp.data(), udp.size(), 1200), mss_result::not_syn);
  auto ack = tcp6_packet(k_ack, opts);
  EXPECT_EQ(tcp_mss_clamp_v6(ack.data(), ack.size(), 1200), mss_result::not_syn);
  // An extension header that runs past the packet, and an inconsistent payload length.
  auto over = tcp6_packet(k_syn, opts, 0, {k_proto_tcp, 200, 1, 4, 0, 0, 0, 0});
  EXPECT_EQ(tcp_mss_clamp_v6(over.data(), over.size(), 1200), mss_result::malformed);
  auto cut = tcp6_packet(k_syn, opts);
  EXPECT_EQ(tcp_mss_clamp_v6(cut.data(), cut.size() - 1, 1200), mss_result::malformed);
  auto eight = tcp6_packet(k_syn, opts, 60, {60, 0, 1, 4, 0, 0, 0, 0});  // a chain of 9 options headers
  for (int i = 0; i < 8; ++i) eight.insert(eight.begin() + 40, {60, 0, 1, 4, 0, 0, 0, 0});
  wire::put_u16(eight.data() + 4, static_cast<uint16_t>(eight.size() - 40));
  EXPECT_EQ(tcp_mss_clamp_v6(eight.data(), eight.size(), 1200), mss_result::not_syn);
}

TEST(netpkt_mss, incremental_update_matches_recompute) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    uint8_t d[32];
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    const uint16_t c0 = csum_fold(csum_partial(d, 32));
    const size_t w = (rng() % 16) * 2;
    const uint16_t old_w = wire::get_u16(d + w), new_w = static_cast<uint16_t>(rng());
    wire::put_u16(d + w, new_w);
    const uint16_t c1 = csum_update16(c0, old_w, new_w);
    uint8_t tmp[34];
    std::copy(d, d + 32, tmp);
    wire::put_u16(tmp + 32, c1);
    ASSERT_EQ(naive_sum(tmp, 34), 0xffffu);  // the data plus the new checksum sums to -0
  }
}

}  // namespace
