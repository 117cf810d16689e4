// SPDX-License-Identifier: MIT
// A log line that a peer can trigger at will (a client's control messages, a refusal at
// max-clients): at most `burst` of them per window, the rest counted. Sans-IO, control thread only.
#pragma once

#include <cstdint>

namespace dpvpn::cp {

// Windows are fixed: one starts with the first line after the previous one ended (`window_s`
// seconds after it began). Lines past `burst` in a window are refused and counted; the count of
// the windows that ended comes out once through take_suppressed(), for one summary line.
class log_limit {
 public:
  log_limit(unsigned burst, unsigned window_s) noexcept : burst_(burst), window_s_(window_s) {}

  // One line that wants out at now_s: true when it may be logged.
  bool allow(uint64_t now_s) noexcept {
    roll(now_s);
    if (n_ < burst_) {
      ++n_;
      return true;
    }
    ++suppressed_;
    ++total_;
    return false;
  }
  // Lines refused in windows that have ended by now_s and were not reported yet (then 0).
  uint64_t take_suppressed(uint64_t now_s) noexcept {
    roll(now_s);
    const uint64_t n = ended_;
    ended_ = 0;
    return n;
  }
  uint64_t suppressed_total() const noexcept { return total_; }
  unsigned window_s() const noexcept { return window_s_; }

 private:
  void roll(uint64_t now_s) noexcept {
    if (started_ && now_s < start_s_ + window_s_) return;
    ended_ += suppressed_;
    suppressed_ = 0;
    n_ = 0;
    start_s_ = now_s;
    started_ = true;
  }

  unsigned burst_, window_s_;
  bool started_ = false;
  uint64_t start_s_ = 0;
  unsigned n_ = 0;           // lines allowed in this window
  uint64_t suppressed_ = 0;  // refused in this window
  uint64_t ended_ = 0;       // refused in ended windows, not yet taken
  uint64_t total_ = 0;
};

}  // namespace dpvpn::cp
