// SPDX-License-Identifier: MIT
// `connect-freq-initial N SECONDS`: how many first replies (to a valid HARD_RESET_CLIENT) the
// server sends per window. Sans-IO.
#pragma once

#include <cstdint>

namespace dpvpn::cp {

// openvpn 2.6 (reflect_filter.c) counts every valid reset that would get a reply; past N in a
// window it stays silent until the window ends. A window ends when more than SECONDS have passed
// since it began (strictly more: openvpn compares `now > start + SECONDS`), and the next reset
// begins a new one. The limit keeps the server from being used to reflect traffic at a spoofed
// address; the stateless cookie (§4.2) already keeps such resets from creating state.
class first_reply_limit {
 public:
  first_reply_limit(uint64_t max, unsigned per_s) : max_(max), per_s_(per_s) {}

  struct verdict {
    bool allow = true;
    bool first_refusal = false;  // the window's first refusal: worth one log line
    uint64_t dropped_last = 0;   // when a window ended: how many it refused (openvpn logs them)
  };

  // Control thread: one valid reset at now_s.
  verdict check(uint64_t now_s) noexcept {
    verdict v;
    if (now_s > start_s_ + per_s_) {
      v.dropped_last = n_ > max_ ? n_ - max_ : 0;
      start_s_ = now_s;
      n_ = 0;
    }
    ++n_;
    v.allow = n_ <= max_;
    v.first_refusal = n_ == max_ + 1;
    return v;
  }
  uint64_t max() const noexcept { return max_; }
  unsigned per_s() const noexcept { return per_s_; }
  uint64_t window_end_s() const noexcept { return start_s_ + per_s_; }

 private:
  uint64_t max_;
  unsigned per_s_;
  uint64_t start_s_ = 0, n_ = 0;
};

}  // namespace dpvpn::cp
