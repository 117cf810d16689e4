// SPDX-License-Identifier: MIT
// Next-hop resolution for the LAN port (docs/dataplane.md, "The LAN port"), on the control
// thread: the single writer of the neighbor table (dp_lan.h). Workers hand it packets whose next
// hop has no MAC yet (pkt_dir lan_wait) and the ARP replies / Neighbor Advertisements they see
// (pkt_dir lan_l2) on the lan_punt ring; it asks with ARP / Neighbor Solicitations, holds a few
// packets per next hop while it asks, and sends them once the answer comes, through lcore 0's
// lan_ctl ring (it never touches a port itself). Resolved next hops are confirmed again after
// k_reachable_ms if the workers sent to them meanwhile, and leave the table if not; one that
// stops answering is withdrawn and leaves it too, so its packets queue again. The table then
// holds the next hops in use, not every one ever seen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpvpn/dp_state.h"

namespace dpvpn::dp {

// What neigh_resolver did, for its counters line.
struct neigh_stats {
  uint64_t requests = 0;     // ARP requests / NS sent
  uint64_t replies = 0;      // answers that resolved or confirmed a next hop
  uint64_t unsolicited = 0;  // answers for addresses we never asked about (ignored)
  uint64_t conflicts = 0;    // answers claiming our own LAN address (ignored)
  uint64_t queued = 0, sent = 0;
  uint64_t expired = 0;      // entries that left the table (unused for k_reachable_ms, or gone)
  uint64_t queue_full = 0;   // dropped: k_queue packets already waiting (k_max_held in all)
  uint64_t unresolved = 0;   // dropped: no answer after k_probes requests
  uint64_t table_full = 0;   // dropped: no room for another next hop
  uint64_t ctl_full = 0;     // dropped: lan_ctl ring full
};

// neigh_resolver's state of one next hop (by neighbor-table slot).
struct neigh_entry {
  net::ip6 ip{};
  net::mac mac{};
  bool resolved = false;
  unsigned probes = 0;      // requests sent since the last answer
  uint64_t next_probe_ms = 0;  // 0: no probe pending
  uint64_t confirmed_ms = 0;
  std::vector<rte_mbuf*> held;
};

class neigh_resolver {
 public:
  static constexpr size_t k_queue = 8;              // packets held per unresolved next hop
  static constexpr uint32_t k_max_held = 1024;      // and at most this many in all
  static constexpr unsigned k_probes = 3;           // requests before giving up (1 s apart)
  static constexpr uint64_t k_probe_ms = 1000;
  static constexpr uint64_t k_reachable_ms = 60000; // a reply confirms a neighbor this long

  explicit neigh_resolver(dp_shared& sh);
  ~neigh_resolver();  // frees the packets still held
  neigh_resolver(const neigh_resolver&) = delete;
  neigh_resolver& operator=(const neigh_resolver&) = delete;

  // Control thread, each loop: the lan_punt ring, then due probes. True when it did anything.
  bool poll(uint64_t now_ms);
  // "lan: neighbors N resolved M | queued ... " for the counters line.
  std::string counters() const;

  using stats = neigh_stats;
  const stats& counts() const { return st_; }

 private:
  using entry = neigh_entry;
  void on_wait(rte_mbuf* m, uint64_t now_ms);
  void on_answer(rte_mbuf* m, uint64_t now_ms);
  void timers(uint64_t now_ms);
  void forget(uint32_t slot);
  void probe(entry& e);
  void send_held(entry& e);
  bool send(rte_mbuf* m);

  dp_shared& sh_;
  std::vector<entry> e_;  // by neighbor-table slot
  std::vector<uint32_t> active_;  // slots with a probe pending
  uint64_t next_timers_ms_ = 0;
  uint32_t held_ = 0;  // packets held over all next hops
  stats st_;
};

}  // namespace dpvpn::dp
