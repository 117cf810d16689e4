// SPDX-License-Identifier: MIT
// TAP mode's inner Ethernet frames (docs/tap.md): parse (one optional 802.1Q tag), classify the
// destination, check what a client's frame claims (source MAC, IPv4 / IPv6 source, ARP sender),
// decide forward / answer / drop with a named reason, and turn an ARP request into its reply in
// place. Sans-IO: bytes in, a verdict out; no DPDK, no allocation, noexcept.
//
// The lookups are the caller's: l2_parse says what to look up (the MAC table for the source and
// destination MACs, the routes for the source and ARP target addresses), the worker does them for
// a whole burst, and l2_from_client / l2_from_exception take the answers as l2_facts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/netpkt_fwd.h"  // arp_info

namespace dpvpn::net {

inline constexpr uint16_t k_ethertype_vlan = 0x8100;  // IEEE 802.1Q tag protocol identifier
inline constexpr size_t k_vlan_tag = 4;
inline constexpr size_t k_arp_body = 28;               // Ethernet/IPv4 ARP (RFC 826)
inline constexpr uint32_t k_no_peer = 0xFFFFFF;        // no client (wire.h's k_peer_id_none)
inline constexpr uint32_t k_segment = 0xFFFFFE;        // the exception port's side (mac_table.h)

// Why a frame is dropped: the dataplane adds one counter per name (dp_stats.h's list, at the
// worker integration).
#define DPVPN_L2_DROPS(X)                                                             \
  X(runt)               /* shorter than an Ethernet header, or than its 802.1Q tag */ \
  X(too_big)            /* longer than tun-mtu + header (tap_max_frame) */            \
  X(bad_src_mac)        /* source MAC is zero, broadcast or multicast */              \
  X(bad_arp)            /* ARP that is not Ethernet/IPv4, or is truncated */          \
  X(bad_ipv4)           /* IPv4 header truncated or not version 4 */                  \
  X(bad_ipv6)           /* IPv6 header truncated */                                   \
  X(tagged)             /* VLAN-tagged frame (VID != 0) from a client, vlan-tagging */ \
  X(mac_spoof)          /* source MAC belongs to another client (first claim) */      \
  X(arp_sha_mismatch)   /* ARP sender MAC differs from the frame's source MAC */      \
  X(ip_spoof)           /* IPv4/IPv6 source or ARP sender IP is not the client's */   \
  X(mac_limit)          /* a new MAC past max-routes-per-client or a full table */    \
  X(loop)               /* destination MAC is on the side the frame came from */

enum class l2_drop : uint8_t {
#define DPVPN_X(name) name,
  DPVPN_L2_DROPS(DPVPN_X)
#undef DPVPN_X
      count_
};
inline constexpr size_t k_l2_drop_count = static_cast<size_t>(l2_drop::count_);
const char* l2_drop_name(l2_drop d) noexcept;

enum class l2_cast : uint8_t { unicast, broadcast, multicast };
enum class l3_kind : uint8_t { ipv4, ipv6, arp, other };

struct l2_frame {
  mac dst{}, src{};
  l2_cast cast = l2_cast::unicast;
  bool tagged = false;   // an 802.1Q tag follows the source MAC
  uint16_t vid = 0;      // its VLAN id (0: priority-tagged)
  uint8_t pcp = 0;       // its priority
  uint16_t ethertype = 0;  // after the tag
  size_t l3_off = 0;       // k_eth_hdr, or k_eth_hdr + k_vlan_tag
  l3_kind l3 = l3_kind::other;
  // ipv4: addresses (host order). ipv6: the source, and whether it is link-local or unspecified
  // (neighbour discovery, DAD: no pool address to check it against).
  uint32_t ip4_src = 0, ip4_dst = 0;
  ip6 ip6_src{};
  bool ip6_src_local = false;
  // arp: op, sender and target (sha/tha/spa/tpa)
  arp_info arp{};
};

// Parses f (len bytes, a whole inner frame). Returns false with the reason in `why` when the frame
// cannot be handled at all (runt, bad_arp, bad_ipv4, bad_ipv6); any other ethertype is l3 other.
bool l2_parse(const uint8_t* f, size_t len, l2_frame& out, l2_drop& why) noexcept;

// The answers to l2_parse's lookups, k_no_peer where there is none.
struct l2_facts {
  // MAC table: who holds frame.src / frame.dst (unicast): a peer-id, k_segment (a MAC learned from
  // the exception port: the kernel's bridge and the LAN behind it) or k_no_peer
  uint32_t src_mac_owner = k_no_peer;
  uint32_t dst_mac_owner = k_no_peer;
  // Routes: whose address or iroute the IPv4 / IPv6 source or ARP sender IP is (ipv4, ipv6, arp).
  uint32_t src_ip_owner = k_no_peer;
  // ARP requests: whose address the target IP is, and that client's MAC when known (the MAC that
  // sends from its address, kept by its owner lcore).
  uint32_t arp_target_owner = k_no_peer;
  mac arp_target_mac{};
  bool arp_target_mac_known = false;
};

// The gateway's side of the segment.
struct l2_policy {
  bool client_to_client = false;
  bool vlan_tagging = false;   // clients send untagged frames (a VLAN-tagged one is dropped)
  bool proxy_arp = true;       // answer ARP for clients whose MAC is known instead of flooding
  unsigned max_frame = 0;      // tap_max_frame; 0 = no limit
  uint32_t gateway_ip = 0;     // the address ARP is answered for (0 = none: server-bridge nogw)
  mac gateway_mac{};           // with it (the exception port's MAC)
};

enum class l2_action : uint8_t { drop, answer, forward };
// Where a forwarded frame goes: a set.
enum l2_dest : uint8_t {
  to_exception = 1,  // the exception port (the kernel's bridge)
  to_peer = 2,       // one client (l2_verdict::peer)
  to_all_peers = 4,  // every client but the sender: the fan-out
};
struct l2_verdict {
  l2_action action = l2_action::drop;
  l2_drop reason = l2_drop::runt;  // action drop
  uint8_t dests = 0;               // action forward: l2_dest bits
  uint32_t peer = k_no_peer;       // to_peer
  mac answer_mac{};                // action answer: the MAC for arp_answer
  // The source MAC is in nobody's name yet: the caller asks the MAC table's writer to give it to
  // the sender, or to k_segment for a frame from the exception port (the frame is forwarded
  // meanwhile, as a bridge forwards before it has learned).
  bool learn = false;
};

// A frame a client (peer) sent, after its data packet opened (authenticated). In order: size,
// 802.1Q (with vlan-tagging), source MAC (valid, not another client's), the source address (with
// `checked`, the client has an assigned address and the source must route to it; without, as with
// server-bridge nogw and DHCP, it must only not be another client's; 0.0.0.0 always passes:
// DHCP and ARP probes), ARP (sender MAC = source MAC; a request for the gateway, or with
// client-to-client for another client whose MAC is known, is answered), then the destination:
// broadcast, multicast and unknown unicast to the exception port (and with client-to-client to
// every other client); the gateway's MAC or one learned from the exception port to the exception
// port; P's own: loop; another client's with client-to-client to it, else to the exception port.
l2_verdict l2_from_client(const l2_frame& f, size_t len, uint32_t peer, bool checked, const l2_facts& k,
                          const l2_policy& p) noexcept;

// A frame from the exception port (the kernel's bridge). A source MAC that a client holds is a
// loop or a LAN host claiming it (mac_spoof), one nobody holds is learned for k_segment; an ARP
// request for a client whose MAC is known is answered (proxy_arp); broadcast, multicast and
// unknown unicast go to every client (a learning bridge floods; needed since entries age), a
// client's MAC to that client, a MAC learned from the exception port nowhere (loop).
l2_verdict l2_from_exception(const l2_frame& f, size_t len, const l2_facts& k, const l2_policy& p) noexcept;

// Rewrites the ARP request f (parsed as pf) into the reply "pf.arp.tpa is at answer" in place,
// addressed to the requester (the 802.1Q tag kept). False, and f untouched, unless pf is an
// ARP request and len covers it.
bool arp_answer(uint8_t* f, size_t len, const l2_frame& pf, const mac& answer) noexcept;

}  // namespace dpvpn::net
