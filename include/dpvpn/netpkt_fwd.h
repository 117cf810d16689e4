// SPDX-License-Identifier: MIT
// Packet work for forwarding between the tunnel and a LAN port (docs/dataplane.md, "The LAN
// port"): TTL / hop-limit decrement, the ICMP errors a router sends, echo replies for the
// gateway's own LAN address, and the ARP / Neighbor Discovery messages that resolve next hops.
// Sans-IO: plain bytes in and out, no DPDK. IPv4 addresses are host order, IPv6 network order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"

namespace dpvpn::net {

// Ethernet header at f (14 bytes).
void write_eth(uint8_t* f, const mac& dst, const mac& src, uint16_t ethertype) noexcept;

// Forwarding: decrement the IPv4 TTL (checksum updated incrementally, RFC 1624) or the IPv6 hop
// limit of the IP packet at ip. False, and nothing changed, when it is <= 1: the packet must not
// be forwarded (the caller sends time-exceeded). The caller has checked the header is complete.
bool ipv4_dec_ttl(uint8_t* ip) noexcept;
bool ipv6_dec_hop_limit(uint8_t* ip) noexcept;

// ICMP errors a router sends about a packet it cannot forward.
enum class icmp_error : uint8_t {
  time_exceeded,  // ICMPv4 11/0, ICMPv6 3/0
  too_big,        // ICMPv4 3/4 "fragmentation needed and DF set" with next-hop MTU; ICMPv6 2/0 packet too big
};
// Writes an IPv4 ICMP error about the IPv4 packet orig (orig_len bytes, a complete header) into
// out (cap bytes): IPv4 header (TTL 64, DF clear, id 0) from src_ip to orig's source, ICMP header,
// then as much of orig as keeps the error within 576 bytes (RFC 1812 §4.3.2.3). mtu: the next-hop
// MTU for too_big. Returns its length, or 0 when no error may be sent (RFC 1812 §4.3.2.7): orig is
// itself an ICMP error, a non-first fragment, from 0.0.0.0, a broadcast/multicast/loopback
// source, or to a multicast/broadcast destination; also 0 when orig is malformed or cap is short.
size_t icmp4_error(uint8_t* out, size_t cap, uint32_t src_ip, const uint8_t* orig, size_t orig_len, icmp_error kind,
                   uint16_t mtu) noexcept;
// The ICMPv6 error (RFC 4443) about the IPv6 packet orig, from src, quoting as much of orig as
// keeps the whole error within 1280 bytes, hop limit 64, checksum over the pseudo-header. 0 when
// none may be sent (§2.4 e): orig is an ICMPv6 error (type < 128) or a redirect, its source is
// unspecified or multicast, or (time_exceeded only) its destination is multicast; also when
// malformed or cap is short.
size_t icmp6_error(uint8_t* out, size_t cap, const ip6& src, const uint8_t* orig, size_t orig_len, icmp_error kind,
                   uint32_t mtu) noexcept;

// Echo: when ip (len bytes) is an ICMP echo request (IPv4 type 8, IPv6 type 128) addressed to
// ours, rewrite it in place into the reply (addresses swapped, TTL/hop limit 64, checksums
// updated) and return true. False and untouched otherwise (also when malformed or truncated).
bool icmp4_echo_reply(uint8_t* ip, size_t len, uint32_t ours) noexcept;
bool icmp6_echo_reply(uint8_t* ip, size_t len, const ip6& ours) noexcept;

// ARP (RFC 826, Ethernet + IPv4 only).
inline constexpr size_t k_arp_frame = 60;  // 14 + 28, padded to the Ethernet minimum
// A broadcast who-has target_ip from our_mac / our_ip. Returns k_arp_frame, or 0 when cap is short.
size_t arp_request(uint8_t* f, size_t cap, const mac& our_mac, uint32_t our_ip, uint32_t target_ip) noexcept;
struct arp_info {
  uint16_t op = 0;  // 1 request, 2 reply
  mac sha{}, tha{};
  uint32_t spa = 0, tpa = 0;  // host order
};
// f: a whole Ethernet frame. False unless it is Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6,
// plen 4, op 1 or 2) of at least 42 bytes.
bool arp_parse(const uint8_t* f, size_t len, arp_info& out) noexcept;

// Neighbor Discovery (RFC 4861).
// A Neighbor Solicitation for target from our_ip / our_mac, sent to target's solicited-node
// multicast group (and its multicast MAC), hop limit 255, with a source link-layer address option.
// Returns the frame length (86), or 0 when cap is short.
size_t nd_solicit(uint8_t* f, size_t cap, const mac& our_mac, const ip6& our_ip, const ip6& target) noexcept;
struct na_info {
  ip6 src{};        // the advertiser's IPv6 source address
  ip6 target{};
  mac tlla{};       // target link-layer address option
  bool has_tlla = false;
  bool solicited = false, override_flag = false, router = false;
};
// f: a whole Ethernet frame. True for a Neighbor Advertisement that passes RFC 4861 §7.1.2
// (hop limit 255, code 0, ICMPv6 length >= 24, checksum correct, target not multicast, options
// of non-zero length within the packet).
bool nd_parse_advert(const uint8_t* f, size_t len, na_info& out) noexcept;

}  // namespace dpvpn::net
