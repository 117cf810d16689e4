// SPDX-License-Identifier: MIT
// Fuzz every function of include/dpvpn/netpkt_fwd.h (dataplane/proto/netpkt_fwd.cc) on arbitrary
// input. Input: u8 flags (bit 0: too_big, else time_exceeded), u16 output room, u32 MTU, then the
// packet (an IP packet for the ICMP and TTL functions, an Ethernet frame for ARP / ND). Every
// buffer is exactly as long as the function is told, so ASan sees any write past it. Checked:
//  - icmp4_error / icmp6_error: length <= room and <= 576 / 1280; what they write is an IPv4 /
//    IPv6 packet of that length, to the original's source, whose checksums verify and which
//    quotes the start of the original;
//  - icmp4_echo_reply / icmp6_echo_reply (ours = the packet's destination): untouched when they
//    say no; else the addresses are swapped, the type is the reply and the checksums verify;
//  - ipv4_dec_ttl / ipv6_dec_hop_limit on a complete header: the TTL drops by one and a header
//    checksum that verified still verifies, or nothing changes and the TTL was <= 1;
//  - arp_parse / nd_parse_advert never read past the frame; arp_request and nd_solicit (addresses
//    from the input) produce what arp_parse / parse_frame6 read back, and an NS answered by
//    nd_make_advert parses with nd_parse_advert (target and link-layer address as sent).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dpvpn/netpkt_fwd.h"
#include "fuzz_input.h"

using namespace dpvpn::net;

namespace {

constexpr uint32_t k_gw_ip = 0x0a080001;  // 10.8.0.1
constexpr ip6 k_gw_ip6{0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr mac k_gw_mac{2, 0, 0, 0, 0x0c, 1};

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }

void check_icmp4_error(const uint8_t* p, size_t n, size_t cap, icmp_error kind, uint16_t mtu) {
  std::vector<uint8_t> out(cap);
  const size_t r = icmp4_error(out.data(), cap, k_gw_ip, p, n, kind, mtu);
  if (r > cap || r > 576) std::abort();
  if (r == 0) return;
  const uint8_t* ip = out.data();
  if (r < 28 || ip[0] != 0x45 || be16(ip + 2) != r || ip[9] != 1 || ipv4_header_checksum(ip, 20) != 0 ||
      be32(ip + 12) != k_gw_ip || be32(ip + 16) != be32(p + 12))
    std::abort();
  if (csum_fold(csum_partial(ip + 20, r - 28 + 8)) != 0) std::abort();
  if (std::memcmp(ip + 28, p, r - 28) != 0) std::abort();
}

void check_icmp6_error(const uint8_t* p, size_t n, size_t cap, icmp_error kind, uint32_t mtu) {
  std::vector<uint8_t> out(cap);
  const size_t r = icmp6_error(out.data(), cap, k_gw_ip6, p, n, kind, mtu);
  if (r > cap || r > 1280) std::abort();
  if (r == 0) return;
  const uint8_t* ip = out.data();
  if (r < 48 || (ip[0] >> 4) != 6 || size_t{be16(ip + 4)} + 40 != r || ip[6] != 58 ||
      std::memcmp(ip + 8, k_gw_ip6.data(), 16) != 0 || std::memcmp(ip + 24, p + 8, 16) != 0)
    std::abort();
  const uint32_t l4 = static_cast<uint32_t>(r - 40);
  if (csum_fold(csum_partial(ip + 40, l4, pseudo_sum6(ip + 8, ip + 24, l4, 58))) != 0) std::abort();
  if (std::memcmp(ip + 48, p, r - 48) != 0) std::abort();
}

void check_echo4(const uint8_t* p, size_t n) {
  if (n < 20) return;
  std::vector<uint8_t> f(p, p + n);
  const uint32_t ours = be32(p + 16);
  if (!icmp4_echo_reply(f.data(), n, ours)) {
    if (std::memcmp(f.data(), p, n) != 0) std::abort();
    return;
  }
  const size_t tot = be16(f.data() + 2);
  if (tot > n || ipv4_header_checksum(f.data(), 20) != 0 || be32(f.data() + 12) != ours ||
      be32(f.data() + 16) != be32(p + 12) || f[20] != 0 || csum_fold(csum_partial(f.data() + 20, tot - 20)) != 0)
    std::abort();
}

void check_echo6(const uint8_t* p, size_t n) {
  if (n < 40) return;
  std::vector<uint8_t> f(p, p + n);
  ip6 ours;
  std::memcpy(ours.data(), p + 24, 16);
  if (!icmp6_echo_reply(f.data(), n, ours)) {
    if (std::memcmp(f.data(), p, n) != 0) std::abort();
    return;
  }
  const uint32_t plen = be16(f.data() + 4);
  if (40 + plen > n || std::memcmp(f.data() + 8, ours.data(), 16) != 0 || std::memcmp(f.data() + 24, p + 8, 16) != 0 ||
      f[40] != 129 || csum_fold(csum_partial(f.data() + 40, plen, pseudo_sum6(f.data() + 8, f.data() + 24, plen, 58))) != 0)
    std::abort();
}

void check_ttl(const uint8_t* p, size_t n) {
  if (n >= 20) {
    const size_t ihl = (p[0] & 0x0f) * 4u;
    const size_t hlen = ihl >= 20 && ihl <= n ? ihl : 20;
    std::vector<uint8_t> h(p, p + hlen);
    const bool ok_before = ihl == hlen && ipv4_header_checksum(h.data(), hlen) == 0;
    if (ipv4_dec_ttl(h.data())) {
      if (p[8] <= 1 || h[8] != p[8] - 1) std::abort();
      if (ok_before && ipv4_header_checksum(h.data(), hlen) != 0) std::abort();
      h[8] = p[8];
      h[10] = p[10];
      h[11] = p[11];
      if (std::memcmp(h.data(), p, hlen) != 0) std::abort();
    } else if (p[8] > 1 || std::memcmp(h.data(), p, hlen) != 0) {
      std::abort();
    }
  }
  if (n >= 40) {
    std::vector<uint8_t> h(p, p + 40);
    if (ipv6_dec_hop_limit(h.data())) {
      if (p[7] <= 1 || h[7] != p[7] - 1) std::abort();
      h[7] = p[7];
    } else if (p[7] > 1) {
      std::abort();
    }
    if (std::memcmp(h.data(), p, 40) != 0) std::abort();
  }
}

void check_frames(const uint8_t* p, size_t n, size_t cap) {
  arp_info ai;
  if (arp_parse(p, n, ai) && (n < 42 || (ai.op != 1 && ai.op != 2))) std::abort();
  na_info na;
  if (nd_parse_advert(p, n, na) && parse_frame6(p, n).kind != frame6_kind::icmp6_other) std::abort();

  // Requests with addresses from the input.
  uint8_t a[40] = {};
  if (n) std::memcpy(a, p, n < sizeof a ? n : sizeof a);
  mac m;
  std::memcpy(m.data(), a, 6);
  const uint32_t target4 = be32(a + 6);
  std::vector<uint8_t> f(cap);
  const size_t ar = arp_request(f.data(), cap, k_gw_mac, k_gw_ip, target4);
  if (ar != (cap < k_arp_frame ? 0 : k_arp_frame)) std::abort();
  if (ar && (!arp_parse(f.data(), ar, ai) || ai.op != 1 || ai.spa != k_gw_ip || ai.tpa != target4 || ai.sha != k_gw_mac))
    std::abort();

  ip6 src, target;
  std::memcpy(src.data(), a + 8, 16);
  std::memcpy(target.data(), a + 24, 16);
  const size_t nr = nd_solicit(f.data(), cap, m, src, target);
  if (nr != (cap < k_na_frame ? 0 : k_na_frame)) std::abort();
  if (!nr) return;
  const frame6_info fi = parse_frame6(f.data(), nr);
  if (fi.kind != frame6_kind::nd_solicit || fi.src != src) std::abort();
  size_t len = nr;
  if (nd_make_advert(f.data(), len, cap, target, k_gw_mac) != nd_result::advert) return;
  if (!nd_parse_advert(f.data(), len, na) || na.target != target || !na.has_tlla || na.tlla != k_gw_mac ||
      na.src != target)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dpvpn::fuzz::reader in(data, size);
  const uint8_t flags = in.u8();
  const size_t room = in.u16();
  const uint32_t mtu = in.u32();
  const auto pkt = in.rest();
  const uint8_t* p = pkt.data();
  const size_t n = pkt.size();
  const icmp_error kind = (flags & 1) ? icmp_error::too_big : icmp_error::time_exceeded;
  check_icmp4_error(p, n, room % 700, kind, static_cast<uint16_t>(mtu));
  check_icmp6_error(p, n, room % 1500, kind, mtu);
  check_echo4(p, n);
  check_echo6(p, n);
  check_ttl(p, n);
  check_frames(p, n, room % 128);
  return 0;
}
