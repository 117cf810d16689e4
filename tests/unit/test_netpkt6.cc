// SPDX-License-Identifier: MIT
// Outer IPv6: known-answer frames from the Linux kernel (NS -> NA, DAD defence, a UDP datagram),
// RFC 4861 §7.1.1 validation cases, parse edge cases, UDP checksums against a naive RFC 1071 sum.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/wire.h"

using namespace dpvpn;
using namespace dpvpn::net;

namespace {

// Frames captured with tcpdump -xx on Linux 6.x between two namespaces on a veth pair, by
// tools/capture-nd-vectors.sh: a = 02:00:00:00:0a:01 fd00:203::1, b = 02:00:00:00:0b:01 fd00:203::11.
// b asks for fd00:203::1 (multicast NS with a source link-layer option); a answers.
const char* k_ns_multicast =
    "3333ff000001020000000b0186dd6000000000203afffd000203000000000000"
    "000000000011ff0200000000000000000001ff00000187006e8300000000fd00"
    "02030000000000000000000000010101020000000b01";
const char* k_na_multicast =
    "020000000b01020000000a0186dd6000000000203afffd000203000000000000"
    "000000000001fd00020300000000000000000000001188000c8460000000fd00"
    "02030000000000000000000000010201020000000a01";
// b probes fd00:203::1 for DAD (unspecified source, nonce option 14, RFC 7527); a defends it.
const char* k_ns_dad =
    "3333ff000001020000000b0186dd6000000000203aff00000000000000000000"
    "000000000000ff0200000000000000000001ff0000018700cc7200000000fd00"
    "02030000000000000000000000010e01d26542cb8bf5";
const char* k_na_dad =
    "333300000001020000000a0186dd6000000000203afffd000203000000000000"
    "000000000001ff02000000000000000000000000000188004c9520000000fd00"
    "02030000000000000000000000010201020000000a01";
// b -> a, UDP 40000 -> 1194, payload "dpvpn outer ipv6 vector" (auto_flowlabels=0, and b's tx
// checksum offload off: with it on, the captured checksum is only the pseudo-header part).
const char* k_udp =
    "020000000a01020000000b0186dd60000000001f1140fd000203000000000000"
    "000000000011fd0002030000000000000000000000019c4004aa001f75bf6470"
    "76706e206f75746572206970763620766563746f72";
// b's unicast NUD probe of a's link-local address (to the address itself, not the group).
const char* k_ns_unicast =
    "020000000a01020000000b0186dd6000000000203afffe800000000000000000"
    "00fffe000b01fe80000000000000000000fffe000a018700531d00000000fe80"
    "000000000000000000fffe000a010101020000000b01";
// An echo request b -> a (not ND).
const char* k_echo =
    "020000000a01020000000b0186dd6005ae8e00403a40fd000203000000000000"
    "000000000011fd000203000000000000000000000001800037ef41540001ecbc"
    "0a6b000000004f2c030000000000101112131415161718191a1b1c1d1e1f2021"
    "22232425262728292a2b2c2d2e2f3031323334353637";

const mac k_mac_a{2, 0, 0, 0, 0x0a, 1};
const mac k_mac_b{2, 0, 0, 0, 0x0b, 1};
const ip6 k_ip_a{0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const ip6 k_ip_b{0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
const ip6 k_ll_a{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0x0a, 1};

std::vector<uint8_t> hex(const char* s) {
  std::vector<uint8_t> v;
  for (size_t i = 0; s[i] && s[i + 1]; i += 2) v.push_back(static_cast<uint8_t>(std::stoi(std::string(s + i, 2), nullptr, 16)));
  return v;
}

// Independent RFC 1071 sum, byte by byte, for checksums this module did not write.
uint32_t naive_sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
// The upper-layer checksum of an IPv6 frame verifies (RFC 8200 §8.1), computed naively.
bool l4_verifies(const std::vector<uint8_t>& f) {
  const uint8_t* ip = f.data() + k_eth_hdr;
  const uint16_t plen = wire::get_u16(ip + 4);
  uint32_t s = naive_sum(ip + 8, 32);
  s = naive_sum(nullptr, 0, s + plen + ip[6]);
  return naive_sum(ip + k_ipv6_hdr, plen, s) == 0xffff;
}

// Re-computes the ICMPv6 checksum after a test edited the NS (so only the edit is wrong).
void fix_icmp_csum(std::vector<uint8_t>& f) {
  uint8_t* ip = f.data() + k_eth_hdr;
  const uint16_t plen = wire::get_u16(ip + 4);
  wire::put_u16(ip + k_ipv6_hdr + 2, 0);
  const uint32_t s = naive_sum(ip + k_ipv6_hdr, plen, naive_sum(ip + 8, 32) + plen + ip[6]);
  wire::put_u16(ip + k_ipv6_hdr + 2, static_cast<uint16_t>(~naive_sum(nullptr, 0, s) & 0xffff));
}

nd_result advert(std::vector<uint8_t>& f, const ip6& ours = k_ip_a, size_t cap = 128) {
  size_t len = f.size();
  f.resize(std::max(f.size(), cap));
  const nd_result r = nd_make_advert(f.data(), len, cap, ours, k_mac_a);
  f.resize(len);
  return r;
}

TEST(netpkt6, kernel_vectors_verify_independently) {
  for (const char* v : {k_ns_multicast, k_na_multicast, k_ns_dad, k_na_dad, k_udp, k_ns_unicast, k_echo})
    EXPECT_TRUE(l4_verifies(hex(v))) << v;
}

TEST(netpkt6, answers_a_multicast_solicitation_as_the_kernel_does) {
  auto f = hex(k_ns_multicast);
  ASSERT_EQ(parse_frame6(f.data(), f.size()).kind, frame6_kind::nd_solicit);
  ASSERT_EQ(advert(f), nd_result::advert);
  EXPECT_EQ(f, hex(k_na_multicast));
}

TEST(netpkt6, defends_against_dad_as_the_kernel_does) {
  auto f = hex(k_ns_dad);
  ASSERT_EQ(advert(f), nd_result::advert);
  EXPECT_EQ(f, hex(k_na_dad));  // to ff02::1 / 33:33:00:00:00:01, S clear, O set
}

mac mac_at(const std::vector<uint8_t>& f, size_t off) {
  mac m;
  std::copy(f.begin() + off, f.begin() + off + 6, m.begin());
  return m;
}
ip6 ip_at(const std::vector<uint8_t>& f, size_t off) {
  ip6 a;
  std::copy(f.begin() + off, f.begin() + off + 16, a.begin());
  return a;
}

TEST(netpkt6, answers_a_unicast_probe) {
  // The kernel answers a unicast probe without the target option (O clear); we always include
  // it and set O (RFC 4861 §7.2.4), so check the fields and an independent checksum instead.
  auto f = hex(k_ns_unicast);
  ASSERT_EQ(advert(f, k_ll_a), nd_result::advert);
  ASSERT_EQ(f.size(), k_na_frame);
  EXPECT_TRUE(l4_verifies(f));
  EXPECT_EQ(mac_at(f, 0), k_mac_b);  // from the source link-layer option
  EXPECT_EQ(mac_at(f, 6), k_mac_a);
  const size_t ip = k_eth_hdr, na = k_eth_hdr + k_ipv6_hdr;
  EXPECT_EQ(f[ip + 7], 255);
  EXPECT_EQ(ip_at(f, ip + 8), k_ll_a);
  EXPECT_EQ(ip_at(f, ip + 24), (ip6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0x0b, 1}));
  EXPECT_EQ(f[na], k_icmp6_na);
  EXPECT_EQ(f[na + 4], 0x60);  // S | O
  EXPECT_EQ(ip_at(f, na + 8), k_ll_a);
  EXPECT_EQ(f[na + 24], 2);
  EXPECT_EQ(mac_at(f, na + 26), k_mac_a);
}

TEST(netpkt6, a_solicitation_without_options_grows_and_uses_the_frame_source) {
  auto f = hex(k_ns_unicast);
  f.resize(f.size() - k_nd_opt_lla);  // drop the source link-layer option
  wire::put_u16(&f[k_eth_hdr + 4], k_icmp6_nd_hdr);
  fix_icmp_csum(f);
  auto g = f;
  size_t len = g.size();
  EXPECT_EQ(nd_make_advert(g.data(), len, g.size(), k_ll_a, k_mac_a), nd_result::not_ours);  // no room
  EXPECT_EQ(g, f);
  ASSERT_EQ(advert(f, k_ll_a), nd_result::advert);
  EXPECT_EQ(f.size(), k_na_frame);
  EXPECT_TRUE(l4_verifies(f));
  EXPECT_EQ(mac_at(f, 0), k_mac_b);  // the NS frame's Ethernet source
}

TEST(netpkt6, solicitation_validation_rfc4861_7_1_1) {
  struct edit {
    const char* what;
    void (*apply)(std::vector<uint8_t>&);
    bool refix;  // recompute the checksum after the edit
    nd_result want;
  };
  constexpr size_t ip = k_eth_hdr, icmp = k_eth_hdr + k_ipv6_hdr;
  const edit cases[] = {
      {"1 as sent", [](std::vector<uint8_t>&) {}, false, nd_result::advert},
      {"2 hop limit 254", [](std::vector<uint8_t>& f) { f[ip + 7] = 254; }, false, nd_result::invalid},
      {"3 bad checksum", [](std::vector<uint8_t>& f) { f[icmp + 3] ^= 1; }, false, nd_result::invalid},
      {"4 code 1", [](std::vector<uint8_t>& f) { f[icmp + 1] = 1; }, true, nd_result::invalid},
      {"5 multicast target", [](std::vector<uint8_t>& f) { f[icmp + 8] = 0xff; }, true, nd_result::invalid},
      {"6 option length 0", [](std::vector<uint8_t>& f) { f[icmp + 25] = 0; }, true, nd_result::invalid},
      {"7 option past the end", [](std::vector<uint8_t>& f) { f[icmp + 25] = 2; }, true, nd_result::invalid},
      {"8 icmp length 16",
       [](std::vector<uint8_t>& f) {
         wire::put_u16(&f[ip + 4], 16);
         f.resize(icmp + 16);
       },
       true, nd_result::invalid},
      {"9 multicast source", [](std::vector<uint8_t>& f) { f[ip + 8] = 0xff; }, true, nd_result::invalid},
      {"10 another target", [](std::vector<uint8_t>& f) { f[icmp + 23] = 2; }, true, nd_result::not_ours},
      {"11 to another group",
       [](std::vector<uint8_t>& f) { f[ip + 24 + 15] = 2; }, true, nd_result::not_ours},
      {"12 to our unicast address",
       [](std::vector<uint8_t>& f) { std::copy(k_ip_a.begin(), k_ip_a.end(), f.begin() + ip + 24); }, true,
       nd_result::advert},
      {"13 unknown option skipped",
       [](std::vector<uint8_t>& f) { f[icmp + 24] = 14; }, true, nd_result::advert},
  };
  for (const edit& e : cases) {
    auto f = hex(k_ns_multicast);
    e.apply(f);
    if (e.refix) fix_icmp_csum(f);
    const auto before = f;
    EXPECT_EQ(advert(f), e.want) << e.what;
    if (e.want != nd_result::advert) EXPECT_EQ(f, before) << e.what << ": changed on refusal";
    else EXPECT_TRUE(l4_verifies(f)) << e.what;
  }
}

TEST(netpkt6, dad_probe_validation) {
  constexpr size_t ip = k_eth_hdr, icmp = k_eth_hdr + k_ipv6_hdr;
  auto f = hex(k_ns_dad);
  f[icmp + 24] = 1;  // the nonce option becomes a source link-layer option: forbidden in DAD
  fix_icmp_csum(f);
  EXPECT_EQ(advert(f), nd_result::invalid);
  f = hex(k_ns_dad);
  std::copy(k_ip_a.begin(), k_ip_a.end(), f.begin() + ip + 24);  // DAD to a unicast address
  fix_icmp_csum(f);
  EXPECT_EQ(advert(f), nd_result::invalid);
}

TEST(netpkt6, truncated_frames_are_refused_without_writing) {
  for (const char* v : {k_ns_multicast, k_ns_dad, k_udp}) {
    const auto whole = hex(v);
    for (size_t n = 0; n < whole.size(); ++n) {
      std::vector<uint8_t> f(whole.begin(), whole.begin() + static_cast<long>(n));
      const frame6_info fi = parse_frame6(f.data(), n);
      EXPECT_EQ(fi.kind, frame6_kind::malformed) << v << " len " << n;
      size_t len = n;
      f.resize(128);
      EXPECT_EQ(nd_make_advert(f.data(), len, f.size(), k_ip_a, k_mac_a), nd_result::invalid);
      EXPECT_EQ(len, n);
    }
  }
}

TEST(netpkt6, parses_the_kernel_udp_datagram) {
  auto f = hex(k_udp);
  frame6_info fi = parse_frame6(f.data(), f.size());
  ASSERT_EQ(fi.kind, frame6_kind::udp);
  EXPECT_EQ(fi.src, k_ip_b);
  EXPECT_EQ(fi.dst, k_ip_a);
  EXPECT_EQ(fi.src_port, 40000);
  EXPECT_EQ(fi.dst_port, 1194);
  EXPECT_EQ(fi.src_mac, k_mac_b);
  EXPECT_EQ(fi.dst_mac, k_mac_a);
  EXPECT_EQ(fi.payload_off, k_outer_v6);
  EXPECT_EQ(std::string(f.begin() + k_outer_v6, f.end()), "dpvpn outer ipv6 vector");
  EXPECT_EQ(fi.payload_len, 23u);
  EXPECT_TRUE(udp6_checksum_ok(f.data(), fi));
  f.resize(f.size() + 5, 0);  // trailing bytes are not payload
  EXPECT_EQ(parse_frame6(f.data(), f.size()).payload_len, 23u);
  f[k_outer_v6] ^= 0x20;
  EXPECT_FALSE(udp6_checksum_ok(f.data(), parse_frame6(f.data(), f.size())));
}

TEST(netpkt6, write_outer_v6_reproduces_the_kernel_datagram) {
  const auto want = hex(k_udp);
  std::vector<uint8_t> f(want.size(), 0xee);
  std::copy(want.begin() + k_outer_v6, want.end(), f.begin() + k_outer_v6);
  udp6_endpoints e{k_mac_b, k_mac_a, k_ip_b, k_ip_a, 40000, 1194};
  write_outer_v6(f.data(), e, f.size() - k_outer_v6);
  EXPECT_EQ(f, want);
  write_outer_v6(f.data(), e, f.size() - k_outer_v6, 0xfff12345);
  EXPECT_EQ(wire::get_u32(&f[k_eth_hdr]), 0x60012345u);  // only 20 flow-label bits
}

TEST(netpkt6, udp_checksum_matches_naive_sum_for_many_lengths) {
  std::mt19937 rng(6);
  udp6_endpoints e{k_mac_a, k_mac_b, k_ip_a, k_ip_b, 1194, 40000};
  for (size_t n = 0; n < 1500; n += (n < 70 ? 1 : 29)) {
    std::vector<uint8_t> f(k_outer_v6 + n);
    for (size_t i = k_outer_v6; i < f.size(); ++i) f[i] = static_cast<uint8_t>(rng());
    e.src_ip[15] = static_cast<uint8_t>(rng());
    write_outer_v6(f.data(), e, n);
    ASSERT_TRUE(l4_verifies(f)) << n;
    const frame6_info fi = parse_frame6(f.data(), f.size());
    ASSERT_EQ(fi.kind, frame6_kind::udp) << n;
    ASSERT_EQ(fi.payload_len, n);
    ASSERT_TRUE(udp6_checksum_ok(f.data(), fi));
  }
}

// The dataplane writes the headers first and fills the UDP checksum in a later pass: the frame
// must come out byte for byte as written in one go, for both families, every length, and header
// values whose IPv4 header sum carries (its checksum is now computed from the values).
TEST(netpkt6, a_checksum_filled_later_equals_one_written_at_once) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 1500; n += (n < 70 ? 1 : 37)) {
    std::vector<uint8_t> a(k_outer_v6 + n), b;
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(rng());
    b = a;
    udp_endpoints e4{k_mac_a, k_mac_b, static_cast<uint32_t>(rng()), n % 3 ? static_cast<uint32_t>(rng()) : 0xffffffffu,
                     static_cast<uint16_t>(rng()), 1194};
    const uint16_t id = n % 2 ? 0xffff : static_cast<uint16_t>(rng());
    write_outer_v4(a.data() + (k_outer_v6 - k_outer_v4), e4, n, id, true);
    write_outer_v4(b.data() + (k_outer_v6 - k_outer_v4), e4, n, id, false);
    fill_outer_udp_csum(b.data() + (k_outer_v6 - k_outer_v4));
    ASSERT_EQ(a, b) << n;
    const uint8_t* ip = a.data() + (k_outer_v6 - k_outer_v4) + k_eth_hdr;
    ASSERT_EQ(csum_fold(csum_partial(ip, k_ipv4_hdr)), 0) << n;  // the IPv4 header verifies
    udp6_endpoints e6{k_mac_a, k_mac_b, k_ip_a, k_ip_b, 1194, static_cast<uint16_t>(rng())};
    e6.dst_ip[15] = static_cast<uint8_t>(rng());
    write_outer_v6(a.data(), e6, n);
    write_outer_v6(b.data(), e6, n, 0, false);
    fill_outer_udp_csum(b.data());
    ASSERT_EQ(a, b) << n;
    ASSERT_TRUE(l4_verifies(a)) << n;
    // From values, with the payload summed on its own (what the dataplane stores).
    const uint32_t ps = csum_partial(a.data() + k_outer_v6, n);
    ASSERT_EQ(udp_csum_v6(e6, n, ps), wire::get_u16(&a[k_eth_hdr + k_ipv6_hdr + 6])) << n;
    write_outer_v4(a.data() + (k_outer_v6 - k_outer_v4), e4, n, id, true);
    ASSERT_EQ(udp_csum_v4(e4, n, ps), wire::get_u16(&a[k_outer_v6 - k_outer_v4 + k_eth_hdr + k_ipv4_hdr + 6])) << n;
  }
}

TEST(netpkt6, a_computed_zero_checksum_is_sent_as_ffff) {
  udp6_endpoints e{k_mac_a, k_mac_b, k_ip_a, k_ip_b, 1194, 40000};
  std::vector<uint8_t> f(k_outer_v6 + 2, 0);
  write_outer_v6(f.data(), e, 2);
  // Pick the two payload bytes that make the sum 0xffff, i.e. a computed checksum of 0.
  const uint16_t c = wire::get_u16(&f[k_eth_hdr + k_ipv6_hdr + 6]);
  wire::put_u16(&f[k_outer_v6], c);
  write_outer_v6(f.data(), e, 2);
  EXPECT_EQ(wire::get_u16(&f[k_eth_hdr + k_ipv6_hdr + 6]), 0xffff);
  EXPECT_TRUE(l4_verifies(f));
  EXPECT_EQ(udp_csum_v6(e, 2, csum_partial(&f[k_outer_v6], 2)), 0xffff);
}

TEST(netpkt6, frame_kinds) {
  auto echo = hex(k_echo);
  EXPECT_EQ(parse_frame6(echo.data(), echo.size()).kind, frame6_kind::icmp6_other);
  auto f = hex(k_udp);
  const size_t nh = k_eth_hdr + 6, udp = k_eth_hdr + k_ipv6_hdr;
  auto g = f;
  g[nh] = k_proto_frag6;
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::fragment);
  g[nh] = 0;  // hop-by-hop options: not walked
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::other);
  g = f;
  wire::put_u16(&g[udp + 6], 0);  // zero UDP checksum: forbidden over IPv6
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  g = f;
  wire::put_u16(&g[udp + 4], 7);  // UDP length below its header
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  wire::put_u16(&g[udp + 4], 40);  // beyond the IPv6 payload
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  g = f;
  g[k_eth_hdr] = 0x40;  // version 4 under EtherType 0x86dd
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  g = f;
  wire::put_u16(&g[12], k_ethertype_ipv4);
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  g = f;
  wire::put_u16(&g[k_eth_hdr + 4], 32);  // payload length beyond the frame
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  // Sources no UDP datagram may come from: multicast, unspecified, v4-mapped.
  const size_t src = k_eth_hdr + 8;
  g = f;
  g[src] = 0xff;
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  g = f;
  std::fill(g.begin() + src, g.begin() + src + 16, 0);
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
  const ip6 mapped = v4_mapped(0x0acb000b);
  std::copy(mapped.begin(), mapped.end(), g.begin() + src);
  EXPECT_EQ(parse_frame6(g.data(), g.size()).kind, frame6_kind::malformed);
}

TEST(netpkt6, group_addresses) {
  EXPECT_EQ(solicited_node(k_ip_a), (ip6{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1}));
  EXPECT_EQ(multicast_mac(solicited_node(k_ll_a)), (mac{0x33, 0x33, 0xff, 0, 0x0a, 1}));
}

TEST(netpkt6, outer_addr_keys) {
  const outer_addr a = outer_v4(0x0acb000b, 40000);
  EXPECT_TRUE(is_v4_mapped(a.ip));
  EXPECT_EQ(v4_of(a.ip), 0x0acb000bu);
  EXPECT_EQ(a.ip, (ip6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 203, 0, 11}));
  EXPECT_FALSE(is_v4_mapped(k_ip_a));
  EXPECT_NE(outer_v6(k_ip_a, 1194), outer_v6(k_ip_a, 1195));
  EXPECT_EQ(outer_v6(k_ip_a, 1194), outer_v6(k_ip_a, 1194));
  ip6 almost = a.ip;
  almost[9] = 1;
  EXPECT_FALSE(is_v4_mapped(almost));
  EXPECT_LT(outer_v4(0x0a000001, 9), outer_v4(0x0a000002, 1));  // address first, then port
  EXPECT_LT(outer_v4(0x0a000001, 1), outer_v4(0x0a000001, 2));
}

// TX checksum offload: what the device finishes (the UDP checksum seeded with the field's
// pseudo-header sum; for IPv4 also the header checksum over a zero field) must equal the software
// form, for both families and every small length.
TEST(netpkt6, nic_csum_forms_complete_to_the_software_checksums) {
  std::mt19937 rng(9);
  for (size_t n = 0; n < 300; n += 7) {
    std::vector<uint8_t> sw(k_outer_v6 + n), hw;
    for (size_t i = k_outer_v6; i < sw.size(); ++i) sw[i] = static_cast<uint8_t>(rng());
    hw = sw;
    const udp6_endpoints e{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}, {0xfd, 0, 1}, {0xfd, 0, 2}, 1194, 40000};
    write_outer_v6(sw.data(), e, n);
    write_outer_v6_nic_csum(hw.data(), e, n);
    uint8_t* udp = hw.data() + k_eth_hdr + k_ipv6_hdr;
    const uint16_t c = csum_fold(csum_partial(udp, k_udp_hdr + n));  // the device's pass
    wire::put_u16(udp + 6, c == 0 ? 0xffff : c);
    EXPECT_EQ(hw, sw) << n;

    std::vector<uint8_t> sw4(k_outer_v4 + n), hw4;
    for (size_t i = k_outer_v4; i < sw4.size(); ++i) sw4[i] = static_cast<uint8_t>(rng());
    hw4 = sw4;
    const udp_endpoints e4{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}, 0x0a000001, 0x0a000002, 1194, 40000};
    write_outer_v4(sw4.data(), e4, n, 77, true);
    write_outer_v4_nic_csum(hw4.data(), e4, n, 77);
    uint8_t* ip = hw4.data() + k_eth_hdr;
    EXPECT_EQ(wire::get_u16(ip + 10), 0);
    wire::put_u16(ip + 10, ipv4_header_checksum(ip, k_ipv4_hdr));
    uint8_t* udp4 = ip + k_ipv4_hdr;
    const uint16_t c4 = csum_fold(csum_partial(udp4, k_udp_hdr + n));
    wire::put_u16(udp4 + 6, c4 == 0 ? 0xffff : c4);
    EXPECT_EQ(hw4, sw4) << n;
  }
}

}  // namespace

TEST(netpkt6, outer_v4_wire_is_outer_v4_of_the_header_fields) {
  const uint8_t hdr[6] = {198, 51, 100, 7, 0x9c, 0x41};  // 198.51.100.7, port 40001
  const outer_addr a = outer_v4_wire(hdr, hdr + 4);
  const outer_addr b = outer_v4(0xc6336407, 40001);
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_TRUE(same_outer(a, b));
  EXPECT_TRUE(is_v4_mapped(a.ip));
  EXPECT_EQ(v4_of(a.ip), 0xc6336407u);
}

TEST(netpkt6, is_v4_mapped_only_for_the_ffff_prefix) {
  ip6 a{};
  a[10] = a[11] = 0xff;
  a[12] = 10;
  EXPECT_TRUE(is_v4_mapped(a));
  for (size_t i = 0; i < 12; ++i) {  // any other byte in the first 12 makes it an IPv6 address
    ip6 b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(is_v4_mapped(b)) << i;
  }
  EXPECT_FALSE(is_v4_mapped(ip6{}));  // ::
}
