// SPDX-License-Identifier: MIT
// A replay window (§8.5, short-form packet ids) that several threads check and commit at once: the
// receive state of one tunnel whose packets are opened on several lcores (docs/dataplane.md, "One
// tunnel on several lcores").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dpvpn/replay.h"

namespace dpvpn::proto {

// The ids are kept in words of 32: a word holds the number of the 32-id block it covers (high half)
// and one bit per id of that block (low half); block b lives in word b % n_words. A commit sets its
// id's bit with a compare-and-swap on that word, and moves a word on to a newer block in the same
// CAS, so no commit can lose another's bit: an id is accepted at most once. A word's block number
// only grows, so an id whose word moved on is too old for good. `top`, the highest id accepted,
// rises by CAS after the bit is set; it tells a too-old id whose word has not moved on yet.
// n_words >= (size + 31) / 32 + 1, a power of two: a word moves on only when an id at least `size`
// above every id of its old block was accepted, so no id within the window is refused.
//
// With one thread the verdicts are those of replay_window with time 0 (zero_id, replayed, too_old;
// no time-backtrack expiry: the reap pass needs a single writer). With several, a commit racing a
// commit `size` or more ahead of it may still be accepted (the window edge is loose by the
// commits in flight), never a duplicate, and never refused inside the window.
// Windows up to k_inline_ids live in the object; larger ones allocate their words once, at
// construction, never per packet.
class alignas(64) shared_replay {
 public:
  static constexpr uint32_t k_inline_words = 4;
  static constexpr uint32_t k_inline_ids = 32 * (k_inline_words - 1);  // 96: the default 64 fits

  explicit shared_replay(uint32_t size = wire::k_replay_window_default);
  shared_replay(const shared_replay&) = delete;
  shared_replay& operator=(const shared_replay&) = delete;

  // Read-only pre-check (before decryption): what commit() would answer now, without taking the id.
  replay_verdict check(uint32_t id) const noexcept;
  // After the tag verified: takes the id, ok for exactly one caller per id. Any thread.
  replay_verdict commit(uint32_t id) noexcept;

  // commit() of ids[0 .. n) in that order, one CAS per run of ids in the same 32-id block and one
  // raise of top for the batch: what a lcore commits for a chunk of one tunnel (the ids of a
  // chunk are mostly consecutive). The same verdicts as commit() one by one, except that the top
  // is the one seen at the start: an id `size` or more below a larger one of the same batch may
  // still be taken (as with a concurrent commit), never twice.
  void commit_burst(const uint32_t* ids, uint32_t n, replay_verdict* out) noexcept;

  uint32_t size() const noexcept { return size_; }
  uint32_t highest_id() const noexcept { return top_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint32_t> top_{0};  // highest id accepted; every thread: rw (CAS up)
  uint32_t size_;                 // immutable
  uint32_t mask_;                 // n_words - 1, immutable
  std::atomic<uint64_t>* words_;  // inline_ or big_; every thread: rw (CAS)
  std::atomic<uint64_t> inline_[k_inline_words] = {};
  std::unique_ptr<std::atomic<uint64_t>[]> big_;
  replay_verdict too_old_or_top(uint32_t id, uint32_t top) const noexcept;
};

}  // namespace dpvpn::proto
