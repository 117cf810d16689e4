// SPDX-License-Identifier: MIT
// TAP mode's MAC table: open addressing with linear probing, one writer, lock-free readers.
//
// Why a reader never returns a wrong peer although the writer reuses slots under it:
//  - A slot's key word is the only thing a lookup matches on; a live key never changes its peer
//    in place (first claim keeps it: a MAC changes hands only by removal and a new learn).
//  - The writer publishes an entry with peer (release), last_seen, then key (release); it removes
//    one by storing the tombstone key (release).
//  - The reader loads key (acquire), peer (acquire), key again. If both key loads match, the peer
//    it read belongs to that key: had the writer removed the entry and put another peer in the
//    slot, the acquire load of that newer peer makes the tombstone store before it visible to the
//    second key load, which then differs (or is the same key learned again, whose peer is the one
//    read). No sequence counter, no retry loop: three loads per probed slot, wait-free.
//  - Entries never move. A tombstone turns back into an empty slot only when the slot after it
//    is empty, so no live entry's probe chain is ever cut. A lookup concurrent with a learn may
//    miss the new entry (the frame is flooded, as a bridge floods before it learns).
#include "dpvpn/mac_table.h"

#include <cstring>

namespace dpvpn::net {

namespace {

constexpr uint64_t k_live = uint64_t{1} << 63;
constexpr uint64_t k_tomb = uint64_t{1} << 62;
constexpr uint32_t k_none = 0xFFFFFFFFu;

uint64_t make_key(const mac& m, uint16_t vid) noexcept {
  uint64_t k = 0;
  for (uint8_t b : m) k = k << 8 | b;
  return k_live | uint64_t{vid & 0x0fffu} << 48 | k;
}

// splitmix64's finalizer: every key bit moves every hash bit.
uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint32_t pow2_at_least(uint64_t n) noexcept {
  uint64_t p = 16;
  while (p < n) p <<= 1;
  return static_cast<uint32_t>(p);
}

}  // namespace

mac_table::mac_table(uint32_t capacity, uint32_t max_peers, uint32_t max_per_peer, uint32_t max_segment,
                     uint64_t seed)
    : mask_(pow2_at_least(uint64_t{capacity} * 2) - 1),
      capacity_(capacity),
      max_peers_(max_peers),
      max_per_peer_(max_per_peer),
      max_segment_(max_segment),
      seed_(seed),
      slots_(new slot[size_t{mask_} + 1]),
      next_(new uint32_t[size_t{mask_} + 1]),
      prev_(new uint32_t[size_t{mask_} + 1]),
      head_(new uint32_t[size_t{max_peers} + 1]),
      per_peer_(new uint32_t[size_t{max_peers} + 1]) {
  for (uint32_t i = 0; i <= mask_; ++i) next_[i] = prev_[i] = k_none;
  for (uint32_t p = 0; p <= max_peers; ++p) head_[p] = k_none, per_peer_[p] = 0;
}

uint32_t mac_table::index_of(uint32_t peer) const noexcept {
  if (peer < max_peers_) return peer;
  return peer == k_mac_segment ? max_peers_ : max_peers_ + 1;
}

mac_table::~mac_table() = default;

uint32_t mac_table::home(uint64_t key) const noexcept { return static_cast<uint32_t>(mix(key ^ seed_)) & mask_; }

mac_table::hit mac_table::find(const mac& m, uint16_t vid) const noexcept {
  const uint64_t want = make_key(m, vid);
  uint32_t i = home(want);
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    const slot& s = slots_[i];
    const uint64_t k1 = s.key.load(std::memory_order_acquire);
    if (k1 == 0) break;  // the end of the chain
    if (k1 != want) continue;
    const uint32_t p = s.peer.load(std::memory_order_acquire);
    if (s.key.load(std::memory_order_relaxed) == want) return {p, i};
    // Removed while we looked: entries never move, so it is gone (or being learned again).
  }
  return {};
}

void mac_table::touch(uint32_t i, const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept {
  slot& s = slots_[i & mask_];
  // A slot the writer reused since find() keeps its new key: the store below is skipped, except
  // in the instant between these loads and the store, where it refreshes the new entry (harmless:
  // that entry then ages one period later).
  if (s.key.load(std::memory_order_relaxed) != make_key(m, vid) || s.peer.load(std::memory_order_relaxed) != peer)
    return;
  if (s.last_seen.load(std::memory_order_relaxed) != now_s) s.last_seen.store(now_s, std::memory_order_relaxed);
}

uint32_t mac_table::locate(uint64_t key) const noexcept {
  uint32_t i = home(key);
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    const uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
    if (k == 0) break;
    if (k == key) return i;
  }
  return mask_ + 1;
}

mac_table::learn_result mac_table::learn(const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept {
  const uint32_t x = index_of(peer);
  if (x > max_peers_) return learn_result::bad_peer;
  const uint64_t key = make_key(m, vid);
  uint32_t free = k_none;
  uint32_t i = home(key);
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    slot& s = slots_[i];
    const uint64_t k = s.key.load(std::memory_order_relaxed);
    if (k == 0) {
      if (free == k_none) free = i;
      break;
    }
    if (k == k_tomb) {
      if (free == k_none) free = i;
      continue;
    }
    if (k != key) continue;
    if (s.peer.load(std::memory_order_relaxed) != peer) return learn_result::taken;
    s.last_seen.store(now_s, std::memory_order_relaxed);
    return learn_result::known;
  }
  if (count_ >= capacity_ || free == k_none) return learn_result::table_full;
  if (per_peer_[x] >= (x == max_peers_ ? max_segment_ : max_per_peer_)) return learn_result::peer_full;
  slot& s = slots_[free];
  s.peer.store(peer, std::memory_order_release);  // before the key: see the comment at the top
  s.last_seen.store(now_s, std::memory_order_relaxed);
  s.key.store(key, std::memory_order_release);
  next_[free] = head_[x];
  prev_[free] = k_none;
  if (head_[x] != k_none) prev_[head_[x]] = free;
  head_[x] = free;
  ++per_peer_[x];
  ++count_;
  return learn_result::learned;
}

void mac_table::remove_at(uint32_t i) noexcept {
  const uint32_t x = index_of(slots_[i].peer.load(std::memory_order_relaxed));
  slots_[i].key.store(k_tomb, std::memory_order_release);
  if (prev_[i] != k_none) next_[prev_[i]] = next_[i];
  else head_[x] = next_[i];
  if (next_[i] != k_none) prev_[next_[i]] = prev_[i];
  next_[i] = prev_[i] = k_none;
  --per_peer_[x];
  --count_;
  // Tombstones that end a chain become empty again, walking back from here.
  if (slots_[(i + 1) & mask_].key.load(std::memory_order_relaxed) != 0) return;
  for (uint32_t n = 0, j = i; n <= mask_ && slots_[j].key.load(std::memory_order_relaxed) == k_tomb;
       ++n, j = (j - 1) & mask_)
    slots_[j].key.store(0, std::memory_order_release);
}

bool mac_table::forget(const mac& m, uint16_t vid) noexcept {
  const uint32_t i = locate(make_key(m, vid));
  if (i > mask_) return false;
  remove_at(i);
  return true;
}

size_t mac_table::forget_peer(uint32_t peer) noexcept {
  const uint32_t x = index_of(peer);
  if (x > max_peers_) return 0;
  size_t n = 0;
  while (head_[x] != k_none) {
    remove_at(head_[x]);
    ++n;
  }
  return n;
}

size_t mac_table::age(uint32_t now_s, uint32_t max_age_s, uint32_t budget) noexcept {
  size_t removed = 0;
  for (uint32_t n = 0; n < budget && n <= mask_; ++n) {
    const uint32_t i = age_cursor_;
    age_cursor_ = (age_cursor_ + 1) & mask_;
    const slot& s = slots_[i];
    if ((s.key.load(std::memory_order_relaxed) & k_live) == 0) continue;
    // Signed difference: an owner lcore may have stored a time a little ahead of ours.
    const int32_t idle = static_cast<int32_t>(now_s - s.last_seen.load(std::memory_order_relaxed));
    if (idle > static_cast<int32_t>(max_age_s)) {
      remove_at(i);
      ++removed;
    }
  }
  return removed;
}

uint32_t mac_table::size_of(uint32_t peer) const noexcept {
  const uint32_t x = index_of(peer);
  return x <= max_peers_ ? per_peer_[x] : 0;
}

bool learn_filter::should_ask(const mac& m, uint16_t vid, uint32_t peer, uint32_t now_s) noexcept {
  const uint64_t key = make_key(m, vid);
  entry& e = e_[mix(key ^ peer) & (k_ways - 1)];
  if (e.key == key && e.peer == peer && e.at == now_s) return false;
  e = {key, peer, now_s};
  return true;
}

}  // namespace dpvpn::net
