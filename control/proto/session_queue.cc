// SPDX-License-Identifier: MIT
// session_queue: a session's packets and events waiting for its caller, with their limits.
#include "dpvpn/session_queue.h"

namespace dpvpn::proto {

bool session_queue::push_event(session_event ev) {
  if (events_.size() >= k_max_events && ev.type != session_event_type::failed) return false;
  events_.push_back(std::move(ev));
  return true;
}

bool session_queue::pop_packet(std::vector<uint8_t>& out) {
  if (packets_.empty()) return false;
  out = std::move(packets_.front());
  packets_.pop_front();
  return true;
}

bool session_queue::pop_event(session_event& ev) {
  if (events_.empty()) return false;
  ev = std::move(events_.front());
  events_.pop_front();
  return true;
}

size_t session_queue::queued_bytes() const noexcept {
  size_t n = 0;
  for (const auto& p : packets_) n += p.size();
  for (const session_event& e : events_) n += sizeof e + e.text.size();
  return n;
}

}  // namespace dpvpn::proto
