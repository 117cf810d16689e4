// SPDX-License-Identifier: MIT
// The outer IPv6 link layer of the WAN (`proto udp6`): Ethernet/IPv6/UDP parse and build, and
// Neighbor Discovery for the gateway's own address. Pure functions on bytes (no DPDK).
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dpvpn/netpkt.h"

namespace dpvpn::net {

using ip6 = std::array<uint8_t, 16>;  // network order

inline constexpr size_t k_icmp6_nd_hdr = 24;  // NS / NA: type, code, csum, flags/reserved, target
inline constexpr size_t k_nd_opt_lla = 8;     // source/target link-layer address option (Ethernet)
inline constexpr size_t k_outer_v6 = k_eth_hdr + k_ipv6_hdr + k_udp_hdr;  // 62
inline constexpr size_t k_na_frame = k_eth_hdr + k_ipv6_hdr + k_icmp6_nd_hdr + k_nd_opt_lla;  // 86
inline constexpr uint8_t k_proto_icmp6 = 58;
inline constexpr uint8_t k_proto_frag6 = 44;
inline constexpr uint8_t k_icmp6_ns = 135;  // RFC 4861 §4.3
inline constexpr uint8_t k_icmp6_na = 136;  // RFC 4861 §4.4
inline constexpr uint8_t k_nd_hop_limit = 255;

// What the WAN receive path needs to know about an IPv6 frame (EtherType 0x86dd). Only a fixed
// header directly followed by UDP or ICMPv6 is handled: the gateway sends nothing that would be
// answered with extension headers, and outer fragments are not reassembled (counted instead).
enum class frame6_kind : uint8_t {
  udp,          // UDP, lengths consistent, checksum field non-zero (RFC 8200 §8.1), from a
                // unicast source that is not v4-mapped (else malformed: such a source would
                // collide with an IPv4 client's key, RFC 4291 §2.5.5.2 keeps it off the wire)
  nd_solicit,   // ICMPv6 type 135: hand it to nd_make_advert, which validates it
  icmp6_other,  // router solicitations, MLD, echo, errors, ...
  fragment,     // next header 44 (RFC 8200 §4.5)
  other,        // any other next header, extension headers included
  malformed,
};
struct frame6_info {
  frame6_kind kind = frame6_kind::malformed;
  size_t l4_off = 0;       // offset of the UDP / ICMPv6 header (k_eth_hdr + 40)
  size_t payload_off = 0;  // offset of the UDP payload (udp)
  size_t payload_len = 0;
  ip6 src{}, dst{};
  uint16_t src_port = 0, dst_port = 0;  // udp
  mac src_mac{}, dst_mac{};
};
// f starts at the Ethernet header. The UDP checksum is not verified here: the data channel's AEAD
// tag or HMAC covers every byte the gateway acts on (as for IPv4), and a frame read from a veth
// whose sender has tx checksum offload carries only the pseudo-header part of it (af_packet sees
// CHECKSUM_PARTIAL frames), so insisting on it would drop every such client. udp6_checksum_ok is
// there for paths that want it. Bytes after the IPv6 payload (Ethernet padding) are ignored.
frame6_info parse_frame6(const uint8_t* f, size_t len) noexcept;

// The UDP checksum of a frame parse_frame6 classified as udp verifies (RFC 8200 §8.1).
bool udp6_checksum_ok(const uint8_t* f, const frame6_info& fi) noexcept;

// Ones' complement sum of the IPv6 pseudo-header (RFC 8200 §8.1): src, dst, upper-layer length,
// next header. Not folded or inverted; continue it over the upper-layer bytes with csum_partial.
uint32_t pseudo_sum6(const uint8_t* src, const uint8_t* dst, uint32_t l4_len, uint8_t next_header) noexcept;

// ff02::1:ffXX:XXXX for addr (RFC 4291 §2.7.1) and its Ethernet group 33:33:ff:XX:XX:XX (RFC 2464 §7).
ip6 solicited_node(const ip6& addr) noexcept;
mac multicast_mac(const ip6& group) noexcept;

// Neighbor Discovery for our own address. If f (len bytes, cap bytes writable) is a valid
// Neighbor Solicitation (RFC 4861 §7.1.1: hop limit 255, code 0, checksum, length, option
// lengths, unspecified source only to the solicited-node group and without a source link-layer
// option) whose target is our_ip, sent to our_ip or its solicited-node group, it is rewritten in
// place into the Neighbor Advertisement (RFC 4861 §7.2.4, §4.4): from our_ip/our_mac, S and O set (S clear
// and to all-nodes when answering DAD), with the target link-layer option; len becomes
// k_na_frame. cap must be >= k_na_frame (an NS without options is shorter than the NA).
enum class nd_result : uint8_t {
  advert,    // f now holds the NA
  not_ours,  // a valid-looking NS for another target, or too little room: nothing written
  invalid,   // fails RFC 4861 §7.1.1 validation: nothing written
};
nd_result nd_make_advert(uint8_t* f, size_t& len, size_t cap, const ip6& our_ip, const mac& our_mac) noexcept;

// Writes Ethernet + IPv6 + UDP headers in front of a UDP payload of payload_len bytes at
// hdr + k_outer_v6. The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1): one pass over the
// payload, as write_outer_v4 does for IPv4; a computed 0 is sent as 0xffff. Hop limit 64,
// traffic class 0, flow_label's low 20 bits (RFC 6437; 0 = unlabelled).
struct udp6_endpoints {
  mac src_mac{}, dst_mac{};
  ip6 src_ip{}, dst_ip{};
  uint16_t src_port = 0, dst_port = 0;
};
// udp_csum false leaves the field 0 for fill_outer_udp_csum (netpkt.h), which must run before
// the frame is sent.
void write_outer_v6(uint8_t* hdr, const udp6_endpoints& e, size_t payload_len, uint32_t flow_label = 0,
                    bool udp_csum = true) noexcept;
// udp_csum_v4 (netpkt.h) for a datagram write_outer_v6 (udp_csum false) frames.
uint16_t udp_csum_v6(const udp6_endpoints& e, size_t payload_len, uint32_t payload_sum) noexcept;
// For a port that computes the UDP checksum on TX (RTE_MBUF_F_TX_UDP_CKSUM): the UDP field holds
// the pseudo-header's sum, folded, not inverted (write_outer_v4_nic_csum).
void write_outer_v6_nic_csum(uint8_t* hdr, const udp6_endpoints& e, size_t payload_len, uint32_t flow_label = 0) noexcept;

// A client's outer transport address as the dataplane's `addrs` hash and the control thread key
// it: 16 address bytes (IPv4 as the v4-mapped ::ffff:a.b.c.d, RFC 4291 §2.5.5.2) and the UDP port.
// 20 bytes with no padding, so it hashes and compares as raw bytes.
struct outer_addr {
  ip6 ip{};
  uint16_t port = 0;  // host order
  uint16_t zero = 0;  // explicit, so no byte of the key is indeterminate
  auto operator<=>(const outer_addr&) const = default;  // ordered: a std::map key on the control side
};
static_assert(sizeof(outer_addr) == 20);
// Equality as three word compares straight from both structs, with no call and no copy (per
// packet on RX: has the peer floated?).
inline bool same_outer(const outer_addr& a, const outer_addr& b) noexcept {
  const auto* pa = reinterpret_cast<const uint8_t*>(&a);
  const auto* pb = reinterpret_cast<const uint8_t*>(&b);
  uint64_t a0, a1, b0, b1;
  uint32_t a2, b2;
  std::memcpy(&a0, pa, 8);
  std::memcpy(&b0, pb, 8);
  std::memcpy(&a1, pa + 8, 8);
  std::memcpy(&b1, pb + 8, 8);
  std::memcpy(&a2, pa + 16, 4);
  std::memcpy(&b2, pb + 16, 4);
  return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
}

inline ip6 v4_mapped(uint32_t ip_host_order) noexcept {  // ::ffff:a.b.c.d; per packet on RX
  ip6 a{};
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = static_cast<uint8_t>(ip_host_order >> 24);
  a[13] = static_cast<uint8_t>(ip_host_order >> 16);
  a[14] = static_cast<uint8_t>(ip_host_order >> 8);
  a[15] = static_cast<uint8_t>(ip_host_order);
  return a;
}
inline bool is_v4_mapped(const ip6& a) noexcept {  // per packet on TX: two word compares
  uint64_t lo;
  uint32_t mid;
  std::memcpy(&lo, a.data(), 8);
  std::memcpy(&mid, a.data() + 8, 4);
  constexpr uint32_t k_ffff = std::endian::native == std::endian::little ? 0xffff0000u : 0x0000ffffu;  // 00 00 ff ff
  return (lo | (mid ^ k_ffff)) == 0;
}
// The IPv4 address (host order) inside a v4-mapped address.
inline uint32_t v4_of(const ip6& a) noexcept {
  return uint32_t{a[12]} << 24 | uint32_t{a[13]} << 16 | uint32_t{a[14]} << 8 | a[15];
}
inline outer_addr outer_v4(uint32_t ip, uint16_t port) noexcept { return {v4_mapped(ip), port, 0}; }
// outer_v4 straight from a header's source address and port (network order): the address bytes
// as they are, the ::ffff: prefix as one word (per packet on RX: no byte shuffling).
[[gnu::always_inline]] inline outer_addr outer_v4_wire(const uint8_t* ip_be, const uint8_t* port_be) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return outer_v4(wire::get_u32(ip_be), wire::get_u16(port_be));
  } else {
    outer_addr a;
    uint32_t raw;
    std::memcpy(&raw, ip_be, 4);
    const uint64_t hi = 0xffff0000ull | uint64_t{raw} << 32;  // bytes 8..15: 00 00 ff ff a b c d
    std::memcpy(a.ip.data() + 8, &hi, 8);
    a.port = wire::get_u16(port_be);
    return a;
  }
}
inline outer_addr outer_v6(const ip6& ip, uint16_t port) noexcept { return {ip, port, 0}; }

}  // namespace dpvpn::net
