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
// time = 0. `now` is Unix seconds. Window size is fixed at construction (0..65536); storage is
// allocated once there, never per packet. Single writer.
class replay_window {
 public:
  explicit replay_window(uint32_t size = wire::k_replay_window_default,
                         uint32_t time_window_s = wire::k_replay_time_default);
  replay_window(const replay_window&) = delete;
  replay_window& operator=(const replay_window&) = delete;
  replay_window(replay_window&&) noexcept;
  replay_window& operator=(replay_window&&) noexcept;
  ~replay_window();

  replay_verdict check(uint32_t id, uint32_t time, uint64_t now) const noexcept;
  void commit(uint32_t id, uint32_t time, uint64_t now) noexcept;
  // Time-backtrack expiry pass (§8.5); commit() and check() callers may run it at most every 5 s.
  void reap(uint64_t now) noexcept;

  uint32_t size() const noexcept { return size_; }
  uint32_t highest_id() const noexcept { return highest_id_; }

 private:
  uint32_t size_;
  uint32_t time_window_;
  uint32_t highest_id_ = 0;
  uint32_t highest_time_ = 0;
  uint64_t last_reap_ = 0;
  // Implementation-defined storage (bitmap + per-slot receive times), sized once.
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dpvpn::proto
