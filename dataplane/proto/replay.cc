// SPDX-License-Identifier: MIT
// Sliding replay window with OpenVPN's (id, time) rules and time-backtrack expiry (§8.3, §8.5).
#include "dpvpn/replay.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace dpvpn::proto {

// Slot of id = id % size: any `size` consecutive ids map to distinct slots, so the window
// [highest - size + 1, highest] never collides. Ids never wrap (§8.3: rekey at 0xFF000000).
// Windows up to k_inline_slots keep their bitmaps in two words and their times in rx_time_;
// larger ones keep all three here.
struct replay_window::big {
  std::vector<uint64_t> seen, expired;
  std::vector<uint32_t> rx_time;
  explicit big(uint32_t size) : seen((size + 63) / 64), expired((size + 63) / 64), rx_time(size) {}
};

namespace {
bool bit(const uint64_t* bm, uint32_t i) noexcept { return (bm[i / 64] >> (i % 64)) & 1; }
}  // namespace

bool replay_window::get_seen(uint32_t slot) const noexcept {
  return big_ ? bit(big_->seen.data(), slot) : (seen_ >> slot) & 1;
}

bool replay_window::get_expired(uint32_t slot) const noexcept {
  return big_ ? bit(big_->expired.data(), slot) : (expired_ >> slot) & 1;
}

void replay_window::mark(uint32_t slot, uint64_t now) noexcept {
  if (big_) {
    big_->seen[slot / 64] |= uint64_t{1} << (slot % 64);
    big_->rx_time[slot] = static_cast<uint32_t>(now);
  } else {
    seen_ |= uint64_t{1} << slot;
    rx_time_[slot] = static_cast<uint32_t>(now);
  }
}

void replay_window::expire(uint32_t slot) noexcept {
  if (big_) big_->expired[slot / 64] |= uint64_t{1} << (slot % 64);
  else expired_ |= uint64_t{1} << slot;
}

void replay_window::clear_slot(uint32_t slot) noexcept {
  if (big_) {
    big_->seen[slot / 64] &= ~(uint64_t{1} << (slot % 64));
    big_->expired[slot / 64] &= ~(uint64_t{1} << (slot % 64));
    big_->rx_time[slot] = 0;
  } else {
    seen_ &= ~(uint64_t{1} << slot);
    expired_ &= ~(uint64_t{1} << slot);
    rx_time_[slot] = 0;
  }
}

void replay_window::clear_all() noexcept {
  seen_ = expired_ = 0;
  std::memset(rx_time_, 0, sizeof rx_time_);
  if (big_) {
    std::fill(big_->seen.begin(), big_->seen.end(), 0);
    std::fill(big_->expired.begin(), big_->expired.end(), 0);
    std::fill(big_->rx_time.begin(), big_->rx_time.end(), 0);
  }
}

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
      mask_(size_ && (size_ & (size_ - 1)) == 0 ? size_ - 1 : 0),
      time_window_(time_window_s) {
  if (size_ > k_inline_slots) big_ = std::make_unique<big>(size_);
}

// A moved-from window keeps working as a size-0 window (strictly increasing ids).
void replay_window::move_from(replay_window& o) noexcept {
  size_ = o.size_;
  mask_ = o.mask_;
  highest_id_ = o.highest_id_;
  highest_time_ = o.highest_time_;
  seen_ = o.seen_;
  expired_ = o.expired_;
  time_window_ = o.time_window_;
  last_reap_ = o.last_reap_;
  std::memcpy(rx_time_, o.rx_time_, sizeof rx_time_);
  big_ = std::move(o.big_);
  o.size_ = 0;
  o.mask_ = 0;
}

replay_window::replay_window(replay_window&& o) noexcept : size_(0), mask_(0), time_window_(0) { move_from(o); }

replay_window& replay_window::operator=(replay_window&& o) noexcept {
  if (this != &o) move_from(o);
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
  const uint32_t slot = slot_of(id);
  if (get_expired(slot)) return replay_verdict::expired;
  if (get_seen(slot)) return replay_verdict::replayed;
  return replay_verdict::ok;
}

// §8.5 packet_id_add. Call only after check() returned ok and the packet authenticated; other
// input is ignored so a misuse cannot corrupt the window.
void replay_window::commit(uint32_t id, uint32_t time, uint64_t now) noexcept {
  if (id == 0 || time < highest_time_) return;
  if (time > highest_time_) {
    highest_time_ = time;
    highest_id_ = 0;
    if (size_) clear_all();
  }
  if (id > highest_id_) {
    // Slide forward: slots of the ids passed over become unseen.
    if (size_) {
      const uint32_t advance = id - highest_id_;
      if (advance >= size_) {
        clear_all();
      } else if (mask_ == 63) {  // the default window (inline): advance < 64 here
        clear_run(advance);
      } else {
        for (uint32_t k = highest_id_ + 1; k != id + 1; ++k) clear_slot(slot_of(k));
      }
    }
    highest_id_ = id;
  }
  if (size_ == 0 || highest_id_ - id >= size_) return;
  mark(slot_of(id), now);
}

// §8.5 time backtrack (packet_id_reap): walk down from the highest id; the first seen slot
// older than the time window expires itself and every slot below it. Runs at most once per
// SEQ_REAP_INTERVAL, so calling it before every check() is cheap. A slot's time is read only
// while its seen bit is set; the fast slide above leaves stale times only under clear bits.
void replay_window::reap(uint64_t now) noexcept {
  if (now < last_reap_ + wire::k_seq_reap_interval) return;
  last_reap_ = now;
  if (size_ == 0) return;
  const uint32_t span = std::min(size_, highest_id_);  // ids below 1 have no slot
  const uint32_t* times = big_ ? big_->rx_time.data() : rx_time_;
  const uint32_t now32 = static_cast<uint32_t>(now);
  bool expiring = false;
  for (uint32_t back = 0; back < span; ++back) {
    const uint32_t slot = slot_of(highest_id_ - back);
    if (get_expired(slot)) break;  // everything below is expired already
    if (!expiring && get_seen(slot) && times[slot] + time_window_ < now32) expiring = true;
    if (expiring) expire(slot);
  }
}

}  // namespace dpvpn::proto
