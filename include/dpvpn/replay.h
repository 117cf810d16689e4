// SPDX-License-Identifier: MIT
// Replay window (§8.5): check() before decryption (const), commit() after the tag verifies.
#pragma once

#include <cstdint>
#include <memory>

#include "dpvpn/wire.h"

namespace dpvpn::proto {

enum class replay_verdict : uint8_t {
  ok = 0,
  zero_id,      // id 0 is never valid
  replayed,     // seen before
  too_old,      // below the window
  expired,      // slot expired by time backtrack (received > time_window ago)
  time_backtrack,  // long-form time lower than the highest seen
};
const char* to_string(replay_verdict v) noexcept;

// One receive state per key_id (data) or per wrapper context (control). Short-form ids pass
// time = 0. `now` is Unix seconds. Window size is fixed at construction (0..65536). The default
// window (64, and anything up to k_inline_slots) lives inline, in the object itself: the data
// path reaches it with no pointer to follow. Larger windows are allocated once, at construction,
// never per packet. Single writer.
class replay_window {
 public:
  static constexpr uint32_t k_inline_slots = 64;

  explicit replay_window(uint32_t size = wire::k_replay_window_default,
                         uint32_t time_window_s = wire::k_replay_time_default);
  replay_window(const replay_window&) = delete;
  replay_window& operator=(const replay_window&) = delete;
  replay_window(replay_window&&) noexcept;
  replay_window& operator=(replay_window&&) noexcept;
  ~replay_window();

  replay_verdict check(uint32_t id, uint32_t time, uint64_t now) const noexcept;
  void commit(uint32_t id, uint32_t time, uint64_t now) noexcept;

  // The data channel's forms (short-form ids, time 0), inline for the default 64-id window in
  // its usual state; anything else goes through check() and commit(), with the same result.
  // check_short(id) == check(id, 0, now).
  replay_verdict check_short(uint32_t id, uint64_t now) const noexcept {
    if (mask_ != 63 || highest_time_ != 0 || id == 0) return check(id, 0, now);
    if (id > highest_id_) return replay_verdict::ok;
    if (highest_id_ - id >= 64) return replay_verdict::too_old;
    const uint64_t bit = uint64_t{1} << (id & 63);
    if (expired_ & bit) return replay_verdict::expired;
    return seen_ & bit ? replay_verdict::replayed : replay_verdict::ok;
  }
  // check(id, 0, now) and, when ok, commit(id, 0, now): true when the id was taken.
  bool take_short(uint32_t id, uint64_t now) noexcept {
    if (mask_ == 63 && highest_time_ == 0 && id != 0) {
      const uint64_t bit = uint64_t{1} << (id & 63);
      if (id > highest_id_) {
        const uint32_t advance = id - highest_id_;
        if (advance < 64) {
          clear_run(advance);
          highest_id_ = id;
          seen_ |= bit;
          rx_time_[id & 63] = static_cast<uint32_t>(now);
          return true;
        }
      } else {
        if (highest_id_ - id >= 64 || ((seen_ | expired_) & bit)) return false;
        seen_ |= bit;
        rx_time_[id & 63] = static_cast<uint32_t>(now);
        return true;
      }
    }
    if (check(id, 0, now) != replay_verdict::ok) return false;
    commit(id, 0, now);
    return true;
  }
  // Time-backtrack expiry pass (§8.5); commit() and check() callers may run it at most every 5 s.
  void reap(uint64_t now) noexcept;
  // A hint before commit(id): fetch the line that commit will write (a burst's look-up pass).
  void prefetch_commit(uint32_t id) const noexcept {
    if (size_ && !big_) __builtin_prefetch(&rx_time_[slot_of(id)], 1);
  }

  uint32_t size() const noexcept { return size_; }
  uint32_t highest_id() const noexcept { return highest_id_; }

 private:
  // The hot part first: what check() and commit() read for every packet.
  uint32_t size_;
  uint32_t mask_;  // size_ - 1 when size_ is a power of two, else 0 (slot = id % size_)
  uint32_t highest_id_ = 0;
  uint32_t highest_time_ = 0;
  uint64_t seen_ = 0;     // inline bitmaps (size_ <= k_inline_slots)
  uint64_t expired_ = 0;
  uint32_t time_window_;
  uint64_t last_reap_ = 0;
  // Receive time (Unix s, truncated to 32 bits) of each seen slot; read only by reap().
  uint32_t rx_time_[k_inline_slots] = {};
  // size_ > k_inline_slots: bitmaps and times on the heap, sized once.
  struct big;
  std::unique_ptr<big> big_;

  uint32_t slot_of(uint32_t id) const noexcept { return mask_ ? (id & mask_) : id % size_; }
  // The default window (mask_ 63, inline bitmaps) slides by advance < 64: the slots of the ids
  // passed over, a run of bits from highest_id_ + 1, rotated, become unseen.
  void clear_run(uint32_t advance) noexcept {
    const uint64_t run = (uint64_t{1} << advance) - 1;
    const uint32_t first = (highest_id_ + 1) & 63;
    const uint64_t bits = first ? (run << first) | (run >> (64 - first)) : run;
    seen_ &= ~bits;
    expired_ &= ~bits;
  }
  bool get_seen(uint32_t slot) const noexcept;
  bool get_expired(uint32_t slot) const noexcept;
  void mark(uint32_t slot, uint64_t now) noexcept;   // seen, with its time
  void expire(uint32_t slot) noexcept;
  void clear_slot(uint32_t slot) noexcept;
  void clear_all() noexcept;
  void move_from(replay_window& o) noexcept;
};

}  // namespace dpvpn::proto
