// SPDX-License-Identifier: MIT
// Sliding replay window with OpenVPN's (id, time) rules and time-backtrack expiry (§8.3, §8.5).
#include "dpvpn/replay.h"

#include <algorithm>
#include <vector>

namespace dpvpn::proto {

// Slot of id = id % size: any `size` consecutive ids map to distinct slots, so the window
// [highest - size + 1, highest] never collides. Ids never wrap (§8.3: rekey at 0xFF000000).
// `seen` and `expired` are bitmaps; `rx_time` is the receive time (Unix s) of each seen slot.
// Everything is sized in the constructor; check/commit/reap never allocate.
struct replay_window::impl {
  std::vector<uint64_t> seen;
  std::vector<uint64_t> expired;
  std::vector<uint64_t> rx_time;

  explicit impl(uint32_t size) : seen((size + 63) / 64), expired((size + 63) / 64), rx_time(size) {}

  static bool get(const std::vector<uint64_t>& bm, uint32_t i) noexcept { return (bm[i / 64] >> (i % 64)) & 1; }
  static void set(std::vector<uint64_t>& bm, uint32_t i) noexcept { bm[i / 64] |= uint64_t{1} << (i % 64); }
  void clear_slot(uint32_t i) noexcept {
    seen[i / 64] &= ~(uint64_t{1} << (i % 64));
    expired[i / 64] &= ~(uint64_t{1} << (i % 64));
    rx_time[i] = 0;
  }
  void clear_all() noexcept {
    std::fill(seen.begin(), seen.end(), 0);
    std::fill(expired.begin(), expired.end(), 0);
    std::fill(rx_time.begin(), rx_time.end(), 0);
  }
};

const char* to_string(replay_verdict v) noexcept {
  switch (v) {
    case replay_verdict::ok: return "ok";
    case replay_verdict::zero_id: return "zero_id";
    case replay_verdict::replayed: return "replayed";
    case replay_verdict::too_old: return "too_old";
    case replay_verdict::expired: return "expired";
    case replay_verdict::time_backtrack: return "time_backtrack";
  }
  return "unknown";
}

replay_window::replay_window(uint32_t size, uint32_t time_window_s)
    : size_(std::min(size, wire::k_replay_window_max)),
      time_window_(time_window_s),
      impl_(std::make_unique<impl>(size_)) {}

// A moved-from window keeps working as a size-0 window (strictly increasing ids) instead of
// dereferencing a null impl.
replay_window::replay_window(replay_window&& o) noexcept
    : size_(o.size_),
      time_window_(o.time_window_),
      highest_id_(o.highest_id_),
      highest_time_(o.highest_time_),
      last_reap_(o.last_reap_),
      impl_(std::move(o.impl_)) {
  o.size_ = 0;
}

replay_window& replay_window::operator=(replay_window&& o) noexcept {
  if (this != &o) {
    size_ = o.size_;
    time_window_ = o.time_window_;
    highest_id_ = o.highest_id_;
    highest_time_ = o.highest_time_;
    last_reap_ = o.last_reap_;
    impl_ = std::move(o.impl_);
    o.size_ = 0;
  }
  return *this;
}

replay_window::~replay_window() = default;

// §8.5 packet_id_test. Reject ordering for a slot: expired before replayed, as an expired slot
// no longer remembers whether it was seen.
replay_verdict replay_window::check(uint32_t id, uint32_t time, uint64_t) const noexcept {
  if (id == 0) return replay_verdict::zero_id;
  if (time < highest_time_) return replay_verdict::time_backtrack;
  if (time > highest_time_) return replay_verdict::ok;  // a newer time restarts the window
  if (id > highest_id_) return replay_verdict::ok;
  const uint32_t behind = highest_id_ - id;
  // Size 0 keeps no history: only strictly increasing ids pass.
  if (size_ == 0) return behind == 0 ? replay_verdict::replayed : replay_verdict::too_old;
  if (behind >= size_) return replay_verdict::too_old;
  const uint32_t slot = id % size_;
  if (impl::get(impl_->expired, slot)) return replay_verdict::expired;
  if (impl::get(impl_->seen, slot)) return replay_verdict::replayed;
  return replay_verdict::ok;
}

// §8.5 packet_id_add. Call only after check() returned ok and the packet authenticated; other
// input is ignored so a misuse cannot corrupt the window.
void replay_window::commit(uint32_t id, uint32_t time, uint64_t now) noexcept {
  if (id == 0 || time < highest_time_) return;
  if (time > highest_time_) {
    highest_time_ = time;
    highest_id_ = 0;
    if (size_) impl_->clear_all();
  }
  if (id > highest_id_) {
    // Slide forward: slots of the ids passed over become unseen.
    if (size_) {
      const uint32_t advance = id - highest_id_;
      if (advance >= size_) {
        impl_->clear_all();
      } else {
        for (uint32_t k = highest_id_ + 1; k != id + 1; ++k) impl_->clear_slot(k % size_);
      }
    }
    highest_id_ = id;
  }
  if (size_ == 0 || highest_id_ - id >= size_) return;
  const uint32_t slot = id % size_;
  impl::set(impl_->seen, slot);
  impl_->rx_time[slot] = now;
}

// §8.5 time backtrack (packet_id_reap): walk down from the highest id; the first seen slot
// older than the time window expires itself and every slot below it. Runs at most once per
// SEQ_REAP_INTERVAL, so calling it before every check() is cheap.
void replay_window::reap(uint64_t now) noexcept {
  if (now < last_reap_ + wire::k_seq_reap_interval) return;
  last_reap_ = now;
  if (size_ == 0) return;
  const uint32_t span = std::min(size_, highest_id_);  // ids below 1 have no slot
  bool expire = false;
  for (uint32_t back = 0; back < span; ++back) {
    const uint32_t slot = (highest_id_ - back) % size_;
    if (impl::get(impl_->expired, slot)) break;  // everything below is expired already
    if (!expire && impl::get(impl_->seen, slot) && impl_->rx_time[slot] + time_window_ < now) expire = true;
    if (expire) impl::set(impl_->expired, slot);
  }
}

}  // namespace dpvpn::proto
