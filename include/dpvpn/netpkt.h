// SPDX-License-Identifier: MIT
// Outer and inner packet headers the gateway reads and writes: Ethernet, ARP, IPv4, IPv6, UDP, TCP MSS.
// Pure functions on bytes (no DPDK), so the dataplane's header work is unit-testable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dpvpn/wire.h"

namespace dpvpn::net {

using mac = std::array<uint8_t, 6>;

inline constexpr size_t k_eth_hdr = 14;
inline constexpr size_t k_ipv4_hdr = 20;
inline constexpr size_t k_ipv6_hdr = 40;
inline constexpr size_t k_udp_hdr = 8;
inline constexpr size_t k_outer_v4 = k_eth_hdr + k_ipv4_hdr + k_udp_hdr;  // 42
inline constexpr uint16_t k_ethertype_ipv4 = 0x0800;
inline constexpr uint16_t k_ethertype_arp = 0x0806;
inline constexpr uint16_t k_ethertype_ipv6 = 0x86dd;
inline constexpr uint8_t k_proto_udp = 17;
inline constexpr uint8_t k_proto_tcp = 6;
inline constexpr size_t k_tcp_hdr = 20;

// RFC 1071 ones' complement sum folded to 16 bits (not inverted).
uint32_t csum_partial(const uint8_t* p, size_t n, uint32_t sum = 0) noexcept;
// Inverted, ready to store. Two folds: the first leaves at most 0x1fffe, the second 0xffff.
inline uint16_t csum_fold(uint32_t sum) noexcept {
  sum = (sum & 0xffff) + (sum >> 16);
  sum += sum >> 16;
  return static_cast<uint16_t>(~sum & 0xffff);
}
// For tests: csum_partial's 64-byte vectors (AVX-512, where the CPU has it) on or off; returns
// the previous choice. Off, it uses 32-byte AVX2 steps.
bool csum_vector_width(bool wide) noexcept;
uint16_t ipv4_header_checksum(const uint8_t* ip, size_t ihl_bytes) noexcept;

// What the WAN receive path needs to know about a frame.
enum class frame_kind : uint8_t { arp, ipv4_udp, ipv4_other, ipv4_fragment, ipv6, other, malformed };
struct frame_info {
  frame_kind kind = frame_kind::malformed;
  size_t l4_off = 0;        // offset of the UDP header (ipv4_udp)
  size_t payload_off = 0;   // offset of the UDP payload
  size_t payload_len = 0;
  uint32_t src_ip = 0, dst_ip = 0;  // host order
  uint16_t src_port = 0, dst_port = 0;
  mac src_mac{}, dst_mac{};
};
frame_info parse_frame(const uint8_t* f, size_t len) noexcept;

// ARP: if f is a request for target_ip (host order), rewrite it in place into the reply from
// our_mac and return true.
bool arp_make_reply(uint8_t* f, size_t len, uint32_t target_ip, const mac& our_mac) noexcept;

// Writes Ethernet + IPv4 + UDP headers in front of a UDP payload of payload_len bytes at
// hdr + 42. UDP checksum computed over the payload when udp_csum is true, else 0 (RFC 768).
struct udp_endpoints {
  mac src_mac{}, dst_mac{};
  uint32_t src_ip = 0, dst_ip = 0;  // host order
  uint16_t src_port = 0, dst_port = 0;
};
void write_outer_v4(uint8_t* hdr, const udp_endpoints& e, size_t payload_len, uint16_t ip_id, bool udp_csum) noexcept;
// The same for a port that computes the checksums on TX (DPDK's RTE_MBUF_F_TX_IP_CKSUM |
// RTE_MBUF_F_TX_UDP_CKSUM): the IPv4 header checksum is left 0 and the UDP field holds the sum of
// the pseudo-header (addresses, protocol, UDP length) folded but not inverted, which the device
// continues over the datagram. Nothing reads the payload.
void write_outer_v4_nic_csum(uint8_t* hdr, const udp_endpoints& e, size_t payload_len, uint16_t ip_id) noexcept;
// The UDP checksum of a frame whose outer headers write_outer_v4 (udp_csum false) or
// write_outer_v6 (udp_csum false) wrote, computed from the frame as it is in memory and stored.
// The dataplane runs it as a pass over a sealed chunk: a load that spans several smaller stores
// still in the store buffer (the header fields, the packet id, the AEAD's tail) waits for them to
// reach the cache, so summing each packet right after writing it cost more than the sum.
void fill_outer_udp_csum(uint8_t* frame) noexcept;
// The UDP checksum of the datagram write_outer_v4 (udp_csum false) frames, from values: the
// pseudo header and UDP header from e and payload_len, the payload as payload_sum, its
// csum_partial. Nothing is read back from the frame, so the caller can sum each payload while it
// is still in L1 (the dataplane does, one packet behind the AEAD) and store the result with the
// headers. 0 comes back as 0xffff (RFC 768).
inline uint16_t udp_csum_v4(const udp_endpoints& e, size_t payload_len, uint32_t payload_sum) noexcept {
  const uint32_t ulen = static_cast<uint16_t>(k_udp_hdr + payload_len);
  const uint32_t addrs = (e.src_ip >> 16) + (e.src_ip & 0xffff) + (e.dst_ip >> 16) + (e.dst_ip & 0xffff);
  // Pseudo header (addresses, protocol, length), then the UDP header (ports, length, checksum 0).
  const uint16_t c = csum_fold(addrs + k_proto_udp + 2 * ulen + e.src_port + e.dst_port + payload_sum);
  return c == 0 ? 0xffff : c;
}

// The IPv4 outer headers of one sender (its MAC, address and port), prepared once: per packet
// a copy of these 42 bytes, then the receiver's fields, the lengths, the id and both checksums
// from values (the sealing side, which would otherwise build every field of every header). The
// bytes are write_outer_v4's (udp_csum false) with udp_csum_v4's checksum stored, or 0 when
// payload_sum is null.
struct outer_v4_tmpl {
  uint8_t h[k_outer_v4] = {};
  uint32_t ip_sum = 0;   // the IP header's fixed words and the source address, summed (> 0 once made)
  uint32_t udp_sum = 0;  // the pseudo header's source address and protocol, and the source port
};
void make_outer_v4_tmpl(outer_v4_tmpl& t, const mac& src_mac, uint32_t src_ip, uint16_t src_port) noexcept;
inline void write_outer_v4_tmpl(uint8_t* h, const outer_v4_tmpl& t, const mac& dst_mac, uint32_t dst_ip,
                                uint16_t dst_port, size_t payload_len, uint16_t ip_id,
                                const uint32_t* payload_sum) noexcept {
  std::memcpy(h, t.h, k_outer_v4);
  std::memcpy(h, dst_mac.data(), 6);
  uint8_t* ip = h + k_eth_hdr;
  const uint32_t tot = static_cast<uint16_t>(k_ipv4_hdr + k_udp_hdr + payload_len);
  const uint32_t dst = (dst_ip >> 16) + (dst_ip & 0xffff);
  wire::put_u16(ip + 2, static_cast<uint16_t>(tot));
  wire::put_u16(ip + 4, ip_id);
  wire::put_u16(ip + 10, csum_fold(t.ip_sum + tot + ip_id + dst));
  wire::put_u32(ip + 16, dst_ip);
  uint8_t* udp = ip + k_ipv4_hdr;
  const uint32_t ulen = tot - k_ipv4_hdr;
  wire::put_u16(udp + 2, dst_port);
  wire::put_u16(udp + 4, static_cast<uint16_t>(ulen));
  uint16_t c = 0;
  if (payload_sum) {
    c = csum_fold(t.udp_sum + dst + 2 * ulen + dst_port + *payload_sum);
    if (c == 0) c = 0xffff;
  }
  wire::put_u16(udp + 6, c);
}

// The IP version nibble of an inner packet (4, 6, anything else), 0 for an empty one.
inline unsigned ip_version(const uint8_t* p, size_t len) noexcept { return len ? p[0] >> 4 : 0; }

// Inner IPv4 packet (tun side): source and destination, or false if not a valid IPv4 header.
inline bool inner_v4_addrs(const uint8_t* p, size_t len, uint32_t& src, uint32_t& dst) noexcept {
  if (len < k_ipv4_hdr || (p[0] >> 4) != 4 || (p[0] & 0x0f) < 5) return false;
  src = wire::get_u32(p + 12);
  dst = wire::get_u32(p + 16);
  return true;
}

// Inner IPv6 packet (RFC 8200 §3): version 6, the whole 40-byte header, and a payload length that
// accounts for exactly the rest of the packet (a tun packet or a decrypted one is exactly one IP
// packet; a jumbogram's 0 never matches). src/dst point into p (16 bytes each, network order).
struct inner_v6 {
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint8_t next_header = 0;
};
bool inner_v6_addrs(const uint8_t* p, size_t len, inner_v6& out) noexcept;

// TCP MSS clamp (`mssfix`) on an inner IPv4 packet: if it is a TCP SYN (with or without ACK)
// whose MSS option exceeds max_mss, the option is lowered to max_mss in place and the TCP checksum
// is adjusted incrementally (RFC 1624 eqn. 3). Anything else is left as it is.
enum class mss_result : uint8_t {
  clamped,      // MSS lowered
  within,       // SYN whose MSS is already <= max_mss
  no_option,    // SYN without an MSS option
  not_syn,      // not a TCP SYN (or not TCP, or a non-first fragment)
  malformed,    // IPv4/TCP header or options inconsistent with the length (left untouched)
};
mss_result tcp_mss_clamp(uint8_t* ip, size_t len, uint16_t max_mss) noexcept;
// The same for an inner IPv6 packet: TCP found after hop-by-hop, routing and destination-options
// headers and a first fragment (RFC 8200 §4); a later fragment, AH, ESP or another upper layer is
// not_syn. The pseudo-header does not change, so the incremental update is the same as for IPv4.
mss_result tcp_mss_clamp_v6(uint8_t* ip, size_t len, uint16_t max_mss) noexcept;

// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changed old -> new.
uint16_t csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word) noexcept;

}  // namespace dpvpn::net
