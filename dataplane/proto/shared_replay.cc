// SPDX-License-Identifier: MIT
// The replay window several lcores share (§8.5): per-word CAS on (block, bits), top raised by CAS.
#include "dpvpn/shared_replay.h"

#include <algorithm>

namespace dpvpn::proto {
namespace {

constexpr uint64_t word_of(uint32_t block, uint32_t bits) { return uint64_t{block} << 32 | bits; }
constexpr uint32_t block_of(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
constexpr uint32_t bits_of(uint64_t w) { return static_cast<uint32_t>(w); }

uint32_t words_for(uint32_t size) {
  uint32_t n = 1;
  while (n < (size + 31) / 32 + 1) n <<= 1;
  return n;
}

}  // namespace

shared_replay::shared_replay(uint32_t size) : size_(std::min(size, wire::k_replay_window_max)) {
  const uint32_t n = words_for(size_);
  mask_ = n - 1;
  if (n > k_inline_words) {
    big_ = std::make_unique<std::atomic<uint64_t>[]>(n);
    for (uint32_t i = 0; i < n; ++i) big_[i].store(0, std::memory_order_relaxed);
    words_ = big_.get();
  } else {
    words_ = inline_;
  }
}

// Size 0 keeps no history: only an id above top passes (replay_window's rule).
replay_verdict shared_replay::too_old_or_top(uint32_t id, uint32_t top) const noexcept {
  if (id > top) return replay_verdict::ok;
  if (size_ == 0) return id == top ? replay_verdict::replayed : replay_verdict::too_old;
  return top - id >= size_ ? replay_verdict::too_old : replay_verdict::ok;
}

replay_verdict shared_replay::check(uint32_t id) const noexcept {
  if (id == 0) return replay_verdict::zero_id;
  const replay_verdict v = too_old_or_top(id, top_.load(std::memory_order_acquire));
  if (v != replay_verdict::ok || size_ == 0) return v;
  const uint64_t w = words_[(id >> 5) & mask_].load(std::memory_order_acquire);
  if (block_of(w) > id >> 5) return replay_verdict::too_old;
  if (block_of(w) == id >> 5 && (bits_of(w) >> (id & 31) & 1)) return replay_verdict::replayed;
  return replay_verdict::ok;
}

replay_verdict shared_replay::commit(uint32_t id) noexcept {
  if (id == 0) return replay_verdict::zero_id;
  uint32_t top = top_.load(std::memory_order_acquire);
  if (const replay_verdict v = too_old_or_top(id, top); v != replay_verdict::ok) return v;
  if (size_ != 0) {
    const uint32_t block = id >> 5, bit = uint32_t{1} << (id & 31);
    std::atomic<uint64_t>& word = words_[block & mask_];
    uint64_t w = word.load(std::memory_order_acquire);
    for (;;) {
      uint64_t nw;
      if (block_of(w) > block) return replay_verdict::too_old;  // the word moved on: an id >= size above us passed
      if (block_of(w) == block) {
        if (bits_of(w) & bit) return replay_verdict::replayed;
        nw = w | bit;
      } else {
        nw = word_of(block, bit);  // the old block's ids are all too old once this id is in
      }
      if (word.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
  }
  // Raise top; with size 0 the CAS is the whole commit (it fails when another took a higher id).
  while (id > top) {
    if (top_.compare_exchange_weak(top, id, std::memory_order_acq_rel, std::memory_order_acquire)) return replay_verdict::ok;
  }
  if (size_ == 0) return id == top ? replay_verdict::replayed : replay_verdict::too_old;
  return replay_verdict::ok;
}

void shared_replay::commit_burst(const uint32_t* ids, uint32_t n, replay_verdict* out) noexcept {
  uint32_t top = top_.load(std::memory_order_acquire);
  uint32_t high = 0;  // the highest id this batch took
  for (uint32_t i = 0; i < n;) {
    const uint32_t id = ids[i];
    replay_verdict v = id == 0 ? replay_verdict::zero_id : too_old_or_top(id, top);
    if (v != replay_verdict::ok || size_ == 0) {
      if (v == replay_verdict::ok) v = commit(id);  // size 0: the CAS on top is the commit
      out[i++] = v;
      continue;
    }
    // The run of ids in id's block: their bits, a repeat inside the run refused at once.
    const uint32_t block = id >> 5;
    uint32_t mask = 0, end = i;
    for (; end < n && ids[end] >> 5 == block; ++end) {
      const uint32_t bit = uint32_t{1} << (ids[end] & 31);
      const bool passes = ids[end] != 0 && too_old_or_top(ids[end], top) == replay_verdict::ok;
      out[end] = !passes ? (ids[end] == 0 ? replay_verdict::zero_id : replay_verdict::too_old)
                 : (mask & bit) ? replay_verdict::replayed
                                : replay_verdict::ok;
      if (passes) mask |= bit;
    }
    std::atomic<uint64_t>& word = words_[block & mask_];
    uint64_t w = word.load(std::memory_order_acquire);
    uint32_t taken_before = 0;  // bits another commit had set
    bool moved_on = false;
    for (;;) {
      if (block_of(w) > block) {
        moved_on = true;
        break;
      }
      taken_before = block_of(w) == block ? bits_of(w) & mask : 0;
      const uint64_t nw = block_of(w) == block ? w | mask : word_of(block, mask);
      if (word.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    for (uint32_t k = i; k < end; ++k) {
      if (out[k] != replay_verdict::ok) continue;
      if (moved_on) out[k] = replay_verdict::too_old;
      else if (taken_before >> (ids[k] & 31) & 1) out[k] = replay_verdict::replayed;
      else if (ids[k] > high) high = ids[k];
    }
    i = end;
  }
  while (high > top && !top_.compare_exchange_weak(top, high, std::memory_order_acq_rel, std::memory_order_acquire)) {}
}

}  // namespace dpvpn::proto
