// SPDX-License-Identifier: MIT
// Forwarding between the tunnel and the LAN port (no DPDK): TTL / hop limit, the ICMP errors a
// router sends (RFC 792, RFC 1812, RFC 4443), echo replies, and next-hop resolution by ARP
// (RFC 826) and Neighbor Discovery (RFC 4861).
#include "dpvpn/netpkt_fwd.h"

#include <algorithm>
#include <cstring>

#include "dpvpn/wire.h"

namespace dpvpn::net {

using wire::get_u16;
using wire::get_u32;
using wire::put_u16;
using wire::put_u32;

namespace {

constexpr uint8_t k_proto_icmp = 1;
constexpr size_t k_icmp_hdr = 8;      // type, code, checksum, then 4 bytes (unused, MTU or id/seq)
constexpr size_t k_icmp4_max = 576;   // RFC 1812 §4.3.2.3: an ICMPv4 error fits in 576 bytes
constexpr size_t k_icmp6_max = 1280;  // RFC 4443 §2.4 (c): within the IPv6 minimum MTU
constexpr uint8_t k_ttl_out = 64;     // TTL / hop limit of what the gateway originates
constexpr uint8_t k_tos_internetwork_control = 0xc0;  // RFC 1812 §4.3.2.5: precedence 6 on errors
constexpr uint8_t k_icmp4_echo_reply = 0, k_icmp4_echo = 8, k_icmp4_unreach = 3, k_icmp4_time_exceeded = 11;
constexpr uint8_t k_icmp4_frag_needed = 4;  // destination unreachable code (RFC 1191)
constexpr uint8_t k_icmp6_too_big = 2, k_icmp6_time_exceeded = 3, k_icmp6_echo = 128, k_icmp6_echo_reply = 129;
constexpr uint8_t k_icmp6_redirect = 137;
// Offsets inside the IPv6 fixed header (RFC 8200 §3).
constexpr size_t k_ip6_plen = 4, k_ip6_nh = 6, k_ip6_hlim = 7, k_ip6_src = 8, k_ip6_dst = 24;
// Neighbor Discovery (RFC 4861 §4.6, §4.4).
constexpr uint8_t k_opt_src_lla = 1, k_opt_tgt_lla = 2;
constexpr uint32_t k_na_router = 0x80000000, k_na_solicited = 0x40000000, k_na_override = 0x20000000;
constexpr size_t k_arp_len = 28;  // Ethernet/IPv4 ARP body (RFC 826)

// RFC 1812 §4.3.2.7: a source that names one host: not 0/8, loopback, multicast or class E
// (the limited broadcast included).
bool v4_single_host(uint32_t a) noexcept {
  const uint32_t hi = a >> 24;
  return hi != 0 && hi != 127 && hi < 224;
}
// Multicast, class E and the limited broadcast.
bool v4_group(uint32_t a) noexcept { return a >= 0xe0000000u; }

bool ip6_unspecified(const uint8_t* a) noexcept {
  for (int i = 0; i < 16; ++i)
    if (a[i] != 0) return false;
  return true;
}
bool ip6_multicast(const uint8_t* a) noexcept { return a[0] == 0xff; }

// ICMPv4 queries and replies (RFC 792, RFC 950, RFC 1256, RFC 8335). Every other type is an
// error, or unknown and treated as one, so that no error is ever sent about it.
bool icmp4_is_query(uint8_t type) noexcept {
  switch (type) {
    case 0: case 8: case 9: case 10: case 13: case 14: case 15: case 16: case 17: case 18: case 42: case 43:
      return true;
    default: return false;
  }
}

// The IPv4 header at ip (len bytes): version 4, IHL within len, total length >= IHL, header
// checksum right (RFC 1812 §5.2.2). Its length in bytes, or 0.
size_t v4_header(const uint8_t* ip, size_t len) noexcept {
  if (len < k_ipv4_hdr || (ip[0] >> 4) != 4) return 0;
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  if (ihl < k_ipv4_hdr || ihl > len || get_u16(ip + 2) < ihl) return 0;
  return csum_fold(csum_partial(ip, ihl)) == 0 ? ihl : 0;
}

// RFC 4443 §2.4 (e.1): whether an error may quote the IPv6 packet ip (len bytes): the extension
// headers are walked to the upper layer, which must not be an ICMPv6 error or a redirect. A later
// fragment does not show its upper layer and may be quoted; a chain cut short may not.
bool icmp6_quotable(const uint8_t* ip, size_t len) noexcept {
  uint8_t nh = ip[k_ip6_nh];
  size_t off = k_ipv6_hdr;
  for (int hops = 0; hops < 8; ++hops) {
    switch (nh) {
      case 0: case 43: case 60: case 51: {  // hop-by-hop, routing, destination options, AH
        if (off + 2 > len) return false;
        const size_t hl = nh == 51 ? (ip[off + 1] + 2u) * 4u : (ip[off + 1] + 1u) * 8u;  // RFC 4302 §2.2
        nh = ip[off];
        off += hl;
        break;
      }
      case k_proto_frag6:
        if (off + 8 > len) return false;
        if ((get_u16(ip + off + 2) & 0xfff8) != 0) return true;
        nh = ip[off];
        off += 8;
        break;
      case k_proto_icmp6: return off < len && ip[off] >= 128 && ip[off] != k_icmp6_redirect;
      default: return true;
    }
  }
  return false;
}

}  // namespace

void write_eth(uint8_t* f, const mac& dst, const mac& src, uint16_t ethertype) noexcept {
  std::memcpy(f, dst.data(), 6);
  std::memcpy(f + 6, src.data(), 6);
  put_u16(f + 12, ethertype);
}

bool ipv4_dec_ttl(uint8_t* ip) noexcept {
  if (ip[8] <= 1) return false;
  const uint16_t old_word = get_u16(ip + 8);  // TTL and protocol share one checksummed word
  --ip[8];
  put_u16(ip + 10, csum_update16(get_u16(ip + 10), old_word, get_u16(ip + 8)));
  return true;
}

bool ipv6_dec_hop_limit(uint8_t* ip) noexcept {
  if (ip[k_ip6_hlim] <= 1) return false;
  --ip[k_ip6_hlim];
  return true;
}

size_t icmp4_error(uint8_t* out, size_t cap, uint32_t src_ip, const uint8_t* orig, size_t orig_len, icmp_error kind,
                   uint16_t mtu) noexcept {
  const size_t ihl = v4_header(orig, orig_len);
  if (ihl == 0) return 0;
  const uint32_t osrc = get_u32(orig + 12), odst = get_u32(orig + 16);
  if ((get_u16(orig + 6) & 0x1fff) != 0 || !v4_single_host(osrc) || v4_group(odst)) return 0;
  const size_t have = std::min<size_t>(orig_len, get_u16(orig + 2));  // Ethernet padding is not quoted
  if (orig[9] == k_proto_icmp && (have <= ihl || !icmp4_is_query(orig[ihl]))) return 0;
  const size_t quote = std::min(have, k_icmp4_max - k_ipv4_hdr - k_icmp_hdr);
  const size_t n = k_ipv4_hdr + k_icmp_hdr + quote;
  if (cap < n) return 0;
  out[0] = 0x45;
  out[1] = k_tos_internetwork_control;
  put_u16(out + 2, static_cast<uint16_t>(n));
  put_u32(out + 4, 0);  // id 0, DF clear, offset 0
  out[8] = k_ttl_out;
  out[9] = k_proto_icmp;
  put_u16(out + 10, 0);
  put_u32(out + 12, src_ip);
  put_u32(out + 16, osrc);
  put_u16(out + 10, ipv4_header_checksum(out, k_ipv4_hdr));
  uint8_t* icmp = out + k_ipv4_hdr;
  const bool too_big = kind == icmp_error::too_big;
  icmp[0] = too_big ? k_icmp4_unreach : k_icmp4_time_exceeded;
  icmp[1] = too_big ? k_icmp4_frag_needed : 0;  // time exceeded: code 0, TTL exceeded in transit
  put_u16(icmp + 2, 0);
  put_u16(icmp + 4, 0);
  put_u16(icmp + 6, too_big ? mtu : 0);  // RFC 1191 §4: the next-hop MTU in the low 16 bits
  std::memcpy(icmp + k_icmp_hdr, orig, quote);
  put_u16(icmp + 2, csum_fold(csum_partial(icmp, k_icmp_hdr + quote)));
  return n;
}

size_t icmp6_error(uint8_t* out, size_t cap, const ip6& src, const uint8_t* orig, size_t orig_len, icmp_error kind,
                   uint32_t mtu) noexcept {
  if (orig_len < k_ipv6_hdr || (orig[0] >> 4) != 6) return 0;
  const uint8_t* osrc = orig + k_ip6_src;
  if (ip6_unspecified(osrc) || ip6_multicast(osrc)) return 0;
  const bool too_big = kind == icmp_error::too_big;
  if (!too_big && ip6_multicast(orig + k_ip6_dst)) return 0;  // §2.4 (e.2): too big may go to a group's sender
  const size_t have = std::min<size_t>(orig_len, k_ipv6_hdr + get_u16(orig + k_ip6_plen));
  if (!icmp6_quotable(orig, have)) return 0;
  const size_t quote = std::min(have, k_icmp6_max - k_ipv6_hdr - k_icmp_hdr);
  const size_t icmp_len = k_icmp_hdr + quote;
  if (cap < k_ipv6_hdr + icmp_len) return 0;
  put_u32(out, 0x60000000);
  put_u16(out + k_ip6_plen, static_cast<uint16_t>(icmp_len));
  out[k_ip6_nh] = k_proto_icmp6;
  out[k_ip6_hlim] = k_ttl_out;
  std::memcpy(out + k_ip6_src, src.data(), 16);
  std::memcpy(out + k_ip6_dst, osrc, 16);
  uint8_t* icmp = out + k_ipv6_hdr;
  icmp[0] = too_big ? k_icmp6_too_big : k_icmp6_time_exceeded;
  icmp[1] = 0;  // time exceeded: hop limit exceeded in transit
  put_u16(icmp + 2, 0);
  put_u32(icmp + 4, too_big ? mtu : 0);
  std::memcpy(icmp + k_icmp_hdr, orig, quote);
  const uint32_t ps = pseudo_sum6(out + k_ip6_src, out + k_ip6_dst, static_cast<uint32_t>(icmp_len), k_proto_icmp6);
  put_u16(icmp + 2, csum_fold(csum_partial(icmp, icmp_len, ps)));
  return k_ipv6_hdr + icmp_len;
}

bool icmp4_echo_reply(uint8_t* ip, size_t len, uint32_t ours) noexcept {
  // Without options only: RFC 1122 §3.2.2.6 would have a source route reversed in the reply.
  if (v4_header(ip, len) != k_ipv4_hdr || ip[9] != k_proto_icmp) return false;
  const size_t tot = get_u16(ip + 2);
  if (tot > len || tot < k_ipv4_hdr + k_icmp_hdr || (get_u16(ip + 6) & 0x3fff) != 0) return false;  // no fragments
  const uint32_t src = get_u32(ip + 12);
  if (get_u32(ip + 16) != ours || !v4_single_host(src)) return false;
  uint8_t* icmp = ip + k_ipv4_hdr;
  if (icmp[0] != k_icmp4_echo || icmp[1] != 0 || csum_fold(csum_partial(icmp, tot - k_ipv4_hdr)) != 0) return false;
  icmp[0] = k_icmp4_echo_reply;
  put_u16(icmp + 2, csum_update16(get_u16(icmp + 2), k_icmp4_echo << 8, k_icmp4_echo_reply << 8));
  ip[8] = k_ttl_out;
  put_u32(ip + 12, ours);
  put_u32(ip + 16, src);
  put_u16(ip + 10, 0);
  put_u16(ip + 10, ipv4_header_checksum(ip, k_ipv4_hdr));
  return true;
}

bool icmp6_echo_reply(uint8_t* ip, size_t len, const ip6& ours) noexcept {
  if (len < k_ipv6_hdr + k_icmp_hdr || (ip[0] >> 4) != 6 || ip[k_ip6_nh] != k_proto_icmp6) return false;
  const size_t plen = get_u16(ip + k_ip6_plen);
  if (plen < k_icmp_hdr || k_ipv6_hdr + plen > len) return false;
  uint8_t* src = ip + k_ip6_src;
  uint8_t* dst = ip + k_ip6_dst;
  if (std::memcmp(dst, ours.data(), 16) != 0 || ip6_unspecified(src) || ip6_multicast(src)) return false;
  uint8_t* icmp = ip + k_ipv6_hdr;
  if (icmp[0] != k_icmp6_echo || icmp[1] != 0) return false;
  if (csum_fold(csum_partial(icmp, plen, pseudo_sum6(src, dst, static_cast<uint32_t>(plen), k_proto_icmp6))) != 0)
    return false;
  // The pseudo-header sum does not change when the addresses swap: only the type word does.
  icmp[0] = k_icmp6_echo_reply;
  put_u16(icmp + 2, csum_update16(get_u16(icmp + 2), k_icmp6_echo << 8, k_icmp6_echo_reply << 8));
  std::memcpy(dst, src, 16);
  std::memcpy(src, ours.data(), 16);
  ip[k_ip6_hlim] = k_ttl_out;
  return true;
}

size_t arp_request(uint8_t* f, size_t cap, const mac& our_mac, uint32_t our_ip, uint32_t target_ip) noexcept {
  if (cap < k_arp_frame) return 0;
  static constexpr mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  write_eth(f, broadcast, our_mac, k_ethertype_arp);
  uint8_t* a = f + k_eth_hdr;
  put_u16(a, 1);  // htype Ethernet
  put_u16(a + 2, k_ethertype_ipv4);
  a[4] = 6;
  a[5] = 4;
  put_u16(a + 6, 1);  // request
  std::memcpy(a + 8, our_mac.data(), 6);
  put_u32(a + 14, our_ip);
  std::memset(a + 18, 0, 6);  // tha: unknown
  put_u32(a + 24, target_ip);
  std::memset(a + k_arp_len, 0, k_arp_frame - k_eth_hdr - k_arp_len);
  return k_arp_frame;
}

bool arp_parse(const uint8_t* f, size_t len, arp_info& out) noexcept {
  if (len < k_eth_hdr + k_arp_len || get_u16(f + 12) != k_ethertype_arp) return false;
  const uint8_t* a = f + k_eth_hdr;
  const uint16_t op = get_u16(a + 6);
  if (get_u16(a) != 1 || get_u16(a + 2) != k_ethertype_ipv4 || a[4] != 6 || a[5] != 4 || (op != 1 && op != 2))
    return false;
  out.op = op;
  std::memcpy(out.sha.data(), a + 8, 6);
  out.spa = get_u32(a + 14);
  std::memcpy(out.tha.data(), a + 18, 6);
  out.tpa = get_u32(a + 24);
  return true;
}

size_t nd_solicit(uint8_t* f, size_t cap, const mac& our_mac, const ip6& our_ip, const ip6& target) noexcept {
  if (cap < k_na_frame) return 0;  // an NS with one option is as long as an NA with one
  const ip6 group = solicited_node(target);
  write_eth(f, multicast_mac(group), our_mac, k_ethertype_ipv6);
  uint8_t* ip = f + k_eth_hdr;
  constexpr uint16_t ns_len = k_icmp6_nd_hdr + k_nd_opt_lla;
  put_u32(ip, 0x60000000);
  put_u16(ip + k_ip6_plen, ns_len);
  ip[k_ip6_nh] = k_proto_icmp6;
  ip[k_ip6_hlim] = k_nd_hop_limit;
  std::memcpy(ip + k_ip6_src, our_ip.data(), 16);
  std::memcpy(ip + k_ip6_dst, group.data(), 16);
  uint8_t* ns = ip + k_ipv6_hdr;
  ns[0] = k_icmp6_ns;
  ns[1] = 0;
  put_u16(ns + 2, 0);
  put_u32(ns + 4, 0);  // reserved
  std::memcpy(ns + 8, target.data(), 16);
  ns[24] = k_opt_src_lla;
  ns[25] = 1;  // 8 octets (RFC 2464 §6)
  std::memcpy(ns + 26, our_mac.data(), 6);
  const uint32_t ps = pseudo_sum6(ip + k_ip6_src, ip + k_ip6_dst, ns_len, k_proto_icmp6);
  put_u16(ns + 2, csum_fold(csum_partial(ns, ns_len, ps)));
  return k_na_frame;
}

bool nd_parse_advert(const uint8_t* f, size_t len, na_info& out) noexcept {
  const frame6_info fi = parse_frame6(f, len);
  if (fi.kind != frame6_kind::icmp6_other) return false;
  const uint8_t* ip = f + k_eth_hdr;
  const uint8_t* na = f + fi.l4_off;
  const size_t n = get_u16(ip + k_ip6_plen);
  // RFC 4861 §7.1.2, in the RFC's order.
  if (na[0] != k_icmp6_na || ip[k_ip6_hlim] != k_nd_hop_limit) return false;
  if (csum_fold(csum_partial(na, n, pseudo_sum6(ip + k_ip6_src, ip + k_ip6_dst, static_cast<uint32_t>(n),
                                                k_proto_icmp6))) != 0)
    return false;
  if (na[1] != 0 || n < k_icmp6_nd_hdr || ip6_multicast(na + 8)) return false;
  const uint32_t flags = get_u32(na + 4);
  if (ip6_multicast(ip + k_ip6_dst) && (flags & k_na_solicited)) return false;
  na_info r;
  for (size_t o = k_icmp6_nd_hdr; o < n;) {
    if (o + 2 > n) return false;
    const size_t olen = na[o + 1] * 8u;
    if (olen == 0 || o + olen > n) return false;
    if (na[o] == k_opt_tgt_lla && olen == k_nd_opt_lla && !r.has_tlla) {
      std::memcpy(r.tlla.data(), na + o + 2, 6);
      r.has_tlla = true;
    }
    o += olen;
  }
  std::memcpy(r.src.data(), ip + k_ip6_src, 16);
  std::memcpy(r.target.data(), na + 8, 16);
  r.router = flags & k_na_router;
  r.solicited = flags & k_na_solicited;
  r.override_flag = flags & k_na_override;
  out = r;
  return true;
}

}  // namespace dpvpn::net
