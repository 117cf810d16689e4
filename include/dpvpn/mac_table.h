// SPDX-License-Identifier: MIT
// TAP mode's MAC table (docs/tap.md, "The MAC table"): (MAC, VLAN id) -> peer-id, learned from
// each client's authenticated frames, aged, capped per client (max-routes-per-client), and kept by
// the first client that claims a MAC. Sans-IO: plain atomics, no DPDK, no clock (time passed in).
//
// One writer, many readers. The writer (the control thread, fed by the workers' learn requests)
// inserts and removes; every worker looks up lock-free and wait-free, and the owner lcore of an
// entry's peer refreshes its last-seen time. How a lookup stays correct while the writer reuses
// a slot is in mac_table.cc.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dpvpn/netpkt.h"

namespace dpvpn::net {

inline constexpr uint32_t k_mac_no_peer = 0xFFFFFF;  // l2frame.h's k_no_peer, wire.h's k_peer_id_none
// The exception port's side (the kernel's bridge and the LAN behind it), which holds MACs as a
// client does. No peer-id reaches it: max-clients keeps them below 0xFFFFFE.
inline constexpr uint32_t k_mac_segment = 0xFFFFFE;

class mac_table {
 public:
  // Up to `capacity` entries (the slot array is the power of two >= 2 * capacity, 16 bytes each),
  // peer-ids below `max_peers`, at most `max_per_peer` entries each, and at most `max_segment` for
  // k_mac_segment. `seed` keys the hash (a random value, so a client cannot aim its MACs at one
  // probe chain). Before the workers start.
  mac_table(uint32_t capacity, uint32_t max_peers, uint32_t max_per_peer, uint32_t max_segment, uint64_t seed);
  ~mac_table();
  mac_table(const mac_table&) = delete;
  mac_table& operator=(const mac_table&) = delete;

  // ---- readers: any thread, lock-free, no allocation ----
  struct hit {
    uint32_t peer = k_mac_no_peer;  // k_mac_no_peer: nobody holds it
    uint32_t slot = 0;              // for touch()
  };
  hit find(const mac& m, uint16_t vid = 0) const noexcept;
  // Owner lcore of `peer` only (k_mac_segment: any lcore that polls the exception port; they all
  // store the same coarse clock): the entry in `slot` (found for peer) was used at now_s. Stores
  // only when the time changed, so a busy entry's line is written once a second.
  void touch(uint32_t slot, const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept;

  // ---- the writer: one thread (the control thread) ----
  enum class learn_result : uint8_t {
    learned,     // new entry for peer
    known,       // already peer's (its time refreshed)
    taken,       // another peer holds it: the claim is a spoof, nothing changes
    peer_full,   // peer holds max_per_peer (k_mac_segment: max_segment) entries already
    table_full,  // capacity entries exist
    bad_peer,    // peer >= max_peers, and not k_mac_segment
  };
  learn_result learn(const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept;
  bool forget(const mac& m, uint16_t vid) noexcept;  // one entry; false when absent
  size_t forget_peer(uint32_t peer) noexcept;        // a client left: all its entries
  // Removes the entries unseen for more than max_age_s, visiting at most `budget` slots from where
  // the last call stopped (call it every loop; a full sweep takes slots() / budget calls).
  size_t age(uint32_t now_s, uint32_t max_age_s, uint32_t budget) noexcept;

  uint32_t size() const noexcept { return count_; }              // writer
  uint32_t size_of(uint32_t peer) const noexcept;                // writer
  uint32_t slots() const noexcept { return mask_ + 1; }
  uint32_t capacity() const noexcept { return capacity_; }

 private:
  struct slot {
    std::atomic<uint64_t> key{0};         // 0 empty; k_live | vid << 48 | MAC; k_tomb: removed
    std::atomic<uint32_t> peer{k_mac_no_peer};
    std::atomic<uint32_t> last_seen{0};   // seconds; the owner lcore of peer refreshes it
  };
  static_assert(sizeof(slot) == 16);

  uint32_t home(uint64_t key) const noexcept;
  uint32_t index_of(uint32_t peer) const noexcept;  // head_ / per_peer_ index; max_peers_ + 1: none
  uint32_t locate(uint64_t key) const noexcept;  // writer: its slot, or slots() when absent
  void remove_at(uint32_t i) noexcept;           // writer

  uint32_t mask_;
  uint32_t capacity_, max_peers_, max_per_peer_, max_segment_;
  uint64_t seed_;
  std::unique_ptr<slot[]> slots_;
  // writer only: a doubly linked list of each peer's slots, and the counts (index max_peers_: the
  // segment's)
  std::unique_ptr<uint32_t[]> next_, prev_, head_, per_peer_;
  uint32_t count_ = 0;
  uint32_t age_cursor_ = 0;
};

// Per lcore, no atomics: remembers the learn requests sent in the last second (a direct-mapped
// cache of 256), so that a burst from a new MAC asks the writer once, not once per frame.
class learn_filter {
 public:
  // True when (m, vid, peer) was not asked about since now_s - 1: send the request (recorded).
  bool should_ask(const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept;

 private:
  static constexpr uint32_t k_ways = 256;
  struct entry {
    uint64_t key = 0;
    uint32_t peer = k_mac_no_peer;
    uint32_t at = 0;
  };
  entry e_[k_ways];
};

}  // namespace dpvpn::net
