// SPDX-License-Identifier: MIT
// Outer IPv6: Ethernet/IPv6/UDP parse and build, Neighbor Solicitation -> Advertisement (no DPDK).
#include "dpvpn/netpkt6.h"

#include <cstring>

#include "dpvpn/wire.h"

namespace dpvpn::net {

using wire::get_u16;
using wire::put_u16;
using wire::put_u32;

namespace {

// Offsets inside the IPv6 fixed header (RFC 8200 §3).
constexpr size_t k_ip6_plen = 4, k_ip6_nh = 6, k_ip6_hlim = 7, k_ip6_src = 8, k_ip6_dst = 24;
// Neighbor Discovery option types (RFC 4861 §4.6).
constexpr uint8_t k_opt_src_lla = 1, k_opt_tgt_lla = 2;
// NA flags (RFC 4861 §4.4): Router, Solicited, Override in the top bits of the first reserved word.
constexpr uint32_t k_na_solicited = 0x40000000, k_na_override = 0x20000000;

bool is_unspecified(const uint8_t* a) noexcept {
  for (int i = 0; i < 16; ++i)
    if (a[i] != 0) return false;
  return true;
}

bool is_multicast(const uint8_t* a) noexcept { return a[0] == 0xff; }

bool is_solicited_node(const uint8_t* a) noexcept {
  static constexpr uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  return std::memcmp(a, prefix, sizeof prefix) == 0;
}

}  // namespace

uint32_t pseudo_sum6(const uint8_t* src, const uint8_t* dst, uint32_t l4_len, uint8_t next_header) noexcept {
  uint32_t s = csum_partial(dst, 16, csum_partial(src, 16));
  return s + (l4_len >> 16) + (l4_len & 0xffff) + next_header;
}

frame6_info parse_frame6(const uint8_t* f, size_t len) noexcept {
  frame6_info fi;
  if (len < k_eth_hdr + k_ipv6_hdr || get_u16(f + 12) != k_ethertype_ipv6) return fi;
  std::memcpy(fi.dst_mac.data(), f, 6);
  std::memcpy(fi.src_mac.data(), f + 6, 6);
  const uint8_t* ip = f + k_eth_hdr;
  if ((ip[0] >> 4) != 6) return fi;
  const size_t plen = get_u16(ip + k_ip6_plen);
  if (k_eth_hdr + k_ipv6_hdr + plen > len) return fi;
  std::memcpy(fi.src.data(), ip + k_ip6_src, 16);
  std::memcpy(fi.dst.data(), ip + k_ip6_dst, 16);
  fi.l4_off = k_eth_hdr + k_ipv6_hdr;
  const uint8_t* l4 = f + fi.l4_off;
  switch (ip[k_ip6_nh]) {
    case k_proto_udp: {
      if (plen < k_udp_hdr) return fi;
      const size_t ulen = get_u16(l4 + 4);
      if (ulen < k_udp_hdr || ulen > plen || get_u16(l4 + 6) == 0) return fi;
      if (is_multicast(fi.src.data()) || is_unspecified(fi.src.data()) || is_v4_mapped(fi.src)) return fi;
      fi.src_port = get_u16(l4);
      fi.dst_port = get_u16(l4 + 2);
      fi.payload_off = fi.l4_off + k_udp_hdr;
      fi.payload_len = ulen - k_udp_hdr;
      fi.kind = frame6_kind::udp;
      return fi;
    }
    case k_proto_icmp6:
      if (plen < 4) return fi;  // type, code, checksum
      fi.kind = l4[0] == k_icmp6_ns ? frame6_kind::nd_solicit : frame6_kind::icmp6_other;
      return fi;
    case k_proto_frag6: fi.kind = frame6_kind::fragment; return fi;
    default: fi.kind = frame6_kind::other; return fi;
  }
}

bool udp6_checksum_ok(const uint8_t* f, const frame6_info& fi) noexcept {
  if (fi.kind != frame6_kind::udp) return false;
  const uint8_t* udp = f + fi.l4_off;
  const uint16_t ulen = get_u16(udp + 4);
  const uint32_t s = pseudo_sum6(fi.src.data(), fi.dst.data(), ulen, k_proto_udp);
  return csum_fold(csum_partial(udp, ulen, s)) == 0;
}

ip6 solicited_node(const ip6& addr) noexcept {
  ip6 g{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  g[13] = addr[13];
  g[14] = addr[14];
  g[15] = addr[15];
  return g;
}

mac multicast_mac(const ip6& group) noexcept { return {0x33, 0x33, group[12], group[13], group[14], group[15]}; }

nd_result nd_make_advert(uint8_t* f, size_t& len, size_t cap, const ip6& our_ip, const mac& our_mac) noexcept {
  const frame6_info fi = parse_frame6(f, len);
  if (fi.kind != frame6_kind::nd_solicit) return nd_result::invalid;
  const uint8_t* ip = f + k_eth_hdr;
  const uint8_t* icmp = f + fi.l4_off;
  const size_t icmp_len = get_u16(ip + k_ip6_plen);
  // RFC 4861 §7.1.1 validation, in the RFC's order.
  if (ip[k_ip6_hlim] != k_nd_hop_limit) return nd_result::invalid;
  if (csum_fold(csum_partial(icmp, icmp_len, pseudo_sum6(ip + k_ip6_src, ip + k_ip6_dst, static_cast<uint32_t>(icmp_len),
                                                         k_proto_icmp6))) != 0)
    return nd_result::invalid;
  if (icmp[1] != 0 || icmp_len < k_icmp6_nd_hdr) return nd_result::invalid;
  const uint8_t* target = icmp + 8;
  if (is_multicast(target)) return nd_result::invalid;
  const uint8_t* src_lla = nullptr;
  for (size_t o = k_icmp6_nd_hdr; o < icmp_len;) {
    if (o + 2 > icmp_len) return nd_result::invalid;
    const size_t olen = icmp[o + 1] * 8u;
    if (olen == 0 || o + olen > icmp_len) return nd_result::invalid;
    // An Ethernet source link-layer option is one 8-octet unit (RFC 2464 §6); others are skipped.
    if (icmp[o] == k_opt_src_lla && olen == k_nd_opt_lla) src_lla = icmp + o + 2;
    o += olen;
  }
  const bool dad = is_unspecified(ip + k_ip6_src);
  if (dad && (!is_solicited_node(ip + k_ip6_dst) || src_lla)) return nd_result::invalid;
  if (is_multicast(ip + k_ip6_src)) return nd_result::invalid;  // RFC 4291 §2.7: never a source
  // Ours: our target, to our address or to its solicited-node group.
  if (std::memcmp(target, our_ip.data(), 16) != 0) return nd_result::not_ours;
  const ip6 group = solicited_node(our_ip);
  if (std::memcmp(ip + k_ip6_dst, our_ip.data(), 16) != 0 && std::memcmp(ip + k_ip6_dst, group.data(), 16) != 0)
    return nd_result::not_ours;
  if (cap < k_na_frame) return nd_result::not_ours;

  // RFC 4861 §7.2.4: unicast to the solicitor (its link-layer option, else the frame's source MAC) with
  // S set; a DAD probe (unspecified source) is answered to all-nodes ff02::1 with S clear.
  static constexpr ip6 all_nodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  ip6 dst_ip;
  mac dst_mac;
  if (dad) {
    dst_ip = all_nodes;
    dst_mac = multicast_mac(all_nodes);
  } else {
    std::memcpy(dst_ip.data(), ip + k_ip6_src, 16);
    if (src_lla) std::memcpy(dst_mac.data(), src_lla, 6);
    else dst_mac = fi.src_mac;
  }

  std::memcpy(f, dst_mac.data(), 6);
  std::memcpy(f + 6, our_mac.data(), 6);
  put_u16(f + 12, k_ethertype_ipv6);
  uint8_t* o6 = f + k_eth_hdr;
  put_u32(o6, 0x60000000);
  constexpr uint16_t na_len = k_icmp6_nd_hdr + k_nd_opt_lla;
  put_u16(o6 + k_ip6_plen, na_len);
  o6[k_ip6_nh] = k_proto_icmp6;
  o6[k_ip6_hlim] = k_nd_hop_limit;
  std::memcpy(o6 + k_ip6_src, our_ip.data(), 16);
  std::memcpy(o6 + k_ip6_dst, dst_ip.data(), 16);
  uint8_t* na = o6 + k_ipv6_hdr;
  na[0] = k_icmp6_na;
  na[1] = 0;
  put_u16(na + 2, 0);
  // R clear: on the WAN the gateway is a host. O set: the address is ours, not anycast/proxied.
  put_u32(na + 4, (dad ? 0 : k_na_solicited) | k_na_override);
  std::memcpy(na + 8, our_ip.data(), 16);
  na[24] = k_opt_tgt_lla;
  na[25] = 1;
  std::memcpy(na + 26, our_mac.data(), 6);
  put_u16(na + 2, csum_fold(csum_partial(na, na_len, pseudo_sum6(o6 + k_ip6_src, o6 + k_ip6_dst, na_len, k_proto_icmp6))));
  len = k_na_frame;
  return nd_result::advert;
}

namespace {

// Ethernet + IPv6 + UDP headers with the UDP checksum field 0; returns the UDP header.
uint8_t* write_headers_v6(uint8_t* h, const udp6_endpoints& e, uint16_t ulen, uint32_t flow_label) noexcept {
  std::memcpy(h, e.dst_mac.data(), 6);
  std::memcpy(h + 6, e.src_mac.data(), 6);
  put_u16(h + 12, k_ethertype_ipv6);
  uint8_t* ip = h + k_eth_hdr;
  put_u32(ip, 0x60000000u | (flow_label & 0xfffff));
  put_u16(ip + k_ip6_plen, ulen);
  ip[k_ip6_nh] = k_proto_udp;
  ip[k_ip6_hlim] = 64;
  std::memcpy(ip + k_ip6_src, e.src_ip.data(), 16);
  std::memcpy(ip + k_ip6_dst, e.dst_ip.data(), 16);
  uint8_t* udp = ip + k_ipv6_hdr;
  put_u16(udp, e.src_port);
  put_u16(udp + 2, e.dst_port);
  put_u16(udp + 4, ulen);
  put_u16(udp + 6, 0);
  return udp;
}

}  // namespace

void write_outer_v6(uint8_t* h, const udp6_endpoints& e, size_t payload_len, uint32_t flow_label,
                    bool udp_csum) noexcept {
  write_headers_v6(h, e, static_cast<uint16_t>(k_udp_hdr + payload_len), flow_label);
  if (udp_csum) fill_outer_udp_csum(h);  // mandatory over IPv6 (RFC 8200 §8.1)
}

void write_outer_v6_nic_csum(uint8_t* h, const udp6_endpoints& e, size_t payload_len, uint32_t flow_label) noexcept {
  const uint16_t ulen = static_cast<uint16_t>(k_udp_hdr + payload_len);
  uint8_t* udp = write_headers_v6(h, e, ulen, flow_label);
  put_u16(udp + 6, static_cast<uint16_t>(~csum_fold(pseudo_sum6(e.src_ip.data(), e.dst_ip.data(), ulen, k_proto_udp))));
}

uint16_t udp_csum_v6(const udp6_endpoints& e, size_t payload_len, uint32_t payload_sum) noexcept {
  const uint32_t ulen = static_cast<uint16_t>(k_udp_hdr + payload_len);
  const uint32_t s = pseudo_sum6(e.src_ip.data(), e.dst_ip.data(), ulen, k_proto_udp);
  const uint16_t c = csum_fold(s + ulen + e.src_port + e.dst_port + payload_sum);
  return c == 0 ? 0xffff : c;  // 0 means "no checksum", forbidden over IPv6
}

// Declared in netpkt.h; here because the IPv6 pseudo header is.
void fill_outer_udp_csum(uint8_t* h) noexcept {
  if (get_u16(h + 12) == k_ethertype_ipv6) {
    const uint8_t* ip = h + k_eth_hdr;
    uint8_t* udp = h + k_eth_hdr + k_ipv6_hdr;
    const uint16_t ulen = get_u16(udp + 4);
    const uint16_t c = csum_fold(csum_partial(udp, ulen, pseudo_sum6(ip + k_ip6_src, ip + k_ip6_dst, ulen, k_proto_udp)));
    put_u16(udp + 6, c == 0 ? 0xffff : c);  // 0 means "no checksum", forbidden over IPv6
    return;
  }
  const uint8_t* ip = h + k_eth_hdr;
  uint8_t* udp = h + k_eth_hdr + k_ipv4_hdr;  // write_outer_v4 writes no IP options
  const uint16_t ulen = get_u16(udp + 4);
  const uint32_t s = csum_partial(ip + 12, 8) + k_proto_udp + ulen;  // pseudo header
  const uint16_t c = csum_fold(csum_partial(udp, ulen, s));
  put_u16(udp + 6, c == 0 ? 0xffff : c);
}

}  // namespace dpvpn::net
