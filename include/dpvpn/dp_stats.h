// SPDX-License-Identifier: MIT
// Per-lcore dataplane counters. Every drop has a named reason from one X-macro list, which
// also generates the counter names printed by the control thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace dpvpn::dp {

// TAP mode (docs/tap.md): include/dpvpn/l2frame.h's DPVPN_L2_DROPS with an l2_ prefix, in the
// same order (worker_l2.cc maps one onto the other and checks it; too_big is in both lists).
#define DPVPN_L2_DROP_REASONS(X)                                                  \
  X(l2_runt)             /* inner frame shorter than Ethernet (+ 802.1Q) */       \
  X(l2_too_big)          /* inner frame longer than tap_max_frame */              \
  X(l2_bad_src_mac)      /* source MAC zero, broadcast or multicast */            \
  X(l2_bad_arp)          /* ARP not Ethernet/IPv4, or truncated */                \
  X(l2_bad_ipv4)         /* inner IPv4 header truncated */                        \
  X(l2_bad_ipv6)         /* inner IPv6 header truncated */                        \
  X(l2_tagged)           /* 802.1Q-tagged frame from a client (vlan-tagging) */   \
  X(l2_mac_spoof)        /* source MAC another client (or the segment) holds */   \
  X(l2_arp_sha_mismatch) /* ARP sender MAC is not the frame's source MAC */       \
  X(l2_ip_spoof)         /* IPv4/IPv6 source or ARP sender IP not the client's */ \
  X(l2_mac_limit)        /* new MAC from a client past max-routes-per-client */   \
  X(l2_loop)             /* destination MAC on the side the frame came from */

#define DPVPN_DROP_REASONS(X)                                                      \
  X(malformed_frame)     /* Ethernet/IP/UDP headers inconsistent */              \
  X(multi_segment)       /* chained mbufs are not handled */                      \
  X(not_for_us)          /* WAN frame for another address/port (no mirror) */     \
  X(ipv4_fragment)       /* outer IPv4 fragments are not reassembled */           \
  X(ipv6_outer)          /* outer IPv6 without an IPv6 `local` */                 \
  X(ipv6_fragment)       /* outer IPv6 fragments are not reassembled */           \
  X(arp_other)           /* ARP that is not a request for our address */          \
  X(nd_other)            /* Neighbor Solicitation for another address */          \
  X(nd_invalid)          /* Neighbor Solicitation failing RFC 4861 §7.1.1 */      \
  X(bad_opcode)          /* OpenVPN classify failed */                            \
  X(unknown_peer)        /* peer-id / address has no session */                  \
  X(peer_not_ready)      /* directory says us, table not yet installed */         \
  X(no_key)              /* no key for the packet's key_id */                     \
  X(bad_tag)             /* AEAD tag / HMAC mismatch */                           \
  X(replay)              /* replay window rejected the packet id */               \
  X(decrypt_other)       /* other data-channel open errors */                     \
  X(spoofed_src)         /* inner source does not route back to the client */  \
  X(float_taken)         /* authenticated packet from another client's address */ \
  X(inner_not_ip)        /* inner packet is not IPv4/IPv6 (or bad IPv4 header) */ \
  X(inner_bad_ipv6)      /* inner IPv6 truncated or payload length != packet */  \
  X(no_route)            /* tun packet for an address no client owns */           \
  X(seal_failed)         /* no room / packet-id exhausted / crypto failure */     \
  X(spread_stale)        /* spread peer: its ids fell a replay window behind before TX */ \
  X(spread_float)        /* spread peer: new outer address seen off the owner lcore */ \
  X(handoff_full)        /* SPSC handoff ring to the owner is full */             \
  X(punt_full)           /* control punt ring is full */                          \
  X(contact_rate)        /* first-contact control frames over dp-contact-rate */  \
  X(ctl_unauth)          /* first-contact frame failing tls-auth/tls-crypt(-v2) */ \
  X(tun_tx_full)         /* exception port TX queue did not take the packet */    \
  X(wan_tx_full)         /* WAN TX queue did not take the packet */               \
  X(alloc_failed)        /* mempool empty */                                      \
  X(lan_not_for_us)      /* LAN frame for another MAC, or a protocol not routed */ \
  X(lan_malformed)       /* LAN IP header inconsistent (length, checksum) */      \
  X(lan_local)           /* for the gateway's own LAN address, not an echo */     \
  X(lan_spoofed_src)     /* LAN packet from a client's (or our own) address */    \
  X(lan_addr_conflict)   /* ARP / ND from the LAN claiming our LAN address */     \
  X(ttl_exceeded)        /* TTL / hop limit would reach 0 (ICMP time exceeded) */ \
  X(too_big)             /* larger than the next link's MTU (ICMP too big) */     \
  X(neigh_wait_full)     /* resolver ring full: next hop not resolved */          \
  X(lan_tx_full)         /* LAN TX queue did not take the packet */               \
  DPVPN_L2_DROP_REASONS(X)                                                        \
  X(fanout_full)         /* TAP flood: this lcore's fan-out queue is full */


enum class drop : uint8_t {
#define DPVPN_X(name) name,
  DPVPN_DROP_REASONS(DPVPN_X)
#undef DPVPN_X
  count_
};
inline constexpr size_t k_drop_count = static_cast<size_t>(drop::count_);

inline const char* drop_name(size_t i) noexcept {
  static const char* const names[] = {
#define DPVPN_X(name) #name,
      DPVPN_DROP_REASONS(DPVPN_X)
#undef DPVPN_X
  };
  return i < k_drop_count ? names[i] : "?";
}

// Written by one lcore (relaxed stores), read by the control thread without stopping it.
struct alignas(64) lcore_counters {
  std::atomic<uint64_t> wan_rx_pkts{0}, wan_rx_bytes{0};
  std::atomic<uint64_t> wan_tx_pkts{0}, wan_tx_bytes{0};
  std::atomic<uint64_t> tun_rx_pkts{0}, tun_rx_bytes{0};
  std::atomic<uint64_t> tun_tx_pkts{0}, tun_tx_bytes{0};
  std::atomic<uint64_t> decrypted{0}, encrypted{0};
  std::atomic<uint64_t> pings_rx{0}, pings_tx{0};
  std::atomic<uint64_t> punted{0}, ctl_tx{0}, arp_replies{0}, nd_adverts{0};
  std::atomic<uint64_t> handoff_out{0}, handoff_in{0};
  std::atomic<uint64_t> cmds{0};
  std::atomic<uint64_t> hairpin{0};      // client -> client packets kept in the dataplane (client-to-client)
  std::atomic<uint64_t> floats{0};       // peers moved to a new outer address (authenticated float)
  std::atomic<uint64_t> mss_clamped{0};  // TCP SYNs whose MSS was lowered (mssfix)
  // One tunnel on several lcores: packets of a peer another lcore owns, sealed or opened here.
  std::atomic<uint64_t> spread_sealed{0}, spread_opened{0};
  // Keeping its order (docs/dataplane.md, "Order"): shares (or parts) whose output waited here for
  // an earlier share, and those sent out of turn (waited too long, or the hold was full).
  std::atomic<uint64_t> order_held{0}, order_gave_way{0};
  // The LAN port (dp-lan): frames in and out, client -> LAN packets forwarded, LAN -> client packets
  // classified, ARP / NS answered, echo replies for the LAN address, packets queued for a next hop,
  // resolver frames sent (from lcore 0), ICMP errors sent and not sent (rate limit).
  std::atomic<uint64_t> lan_rx_pkts{0}, lan_rx_bytes{0}, lan_tx_pkts{0}, lan_tx_bytes{0};
  std::atomic<uint64_t> to_lan{0}, from_lan{0}, lan_neigh{0}, lan_echo{0}, lan_wait{0}, lan_ctl{0};
  std::atomic<uint64_t> icmp_errors{0}, icmp_limited{0};
  // TAP mode (docs/tap.md): ARP requests answered by the dataplane (for the gateway, proxy ARP for a
  // client), frames a client sent to another client's owner, learn requests sent to the control
  // thread and lost (learn ring full: asked again a second later), flood frames queued on this
  // lcore's fan-out queue, and destinations sealed from it.
  std::atomic<uint64_t> l2_arp_answered{0}, l2_to_peer{0}, l2_learn_asked{0}, l2_learn_lost{0};
  std::atomic<uint64_t> fanout_in{0}, fanout_sealed{0};
  std::atomic<uint64_t> drops[k_drop_count] = {};

  // Owner-only increment: a relaxed load + store (no locked RMW on the packet path).
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void dropped(drop d, uint64_t n = 1) noexcept { bump(drops[static_cast<size_t>(d)], n); }
};

}  // namespace dpvpn::dp
