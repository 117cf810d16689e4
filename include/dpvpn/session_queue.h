// SPDX-License-Identifier: MIT
// session_queue: what a session has produced and its caller has not taken yet: wrapped packets for
// the peer and events for the caller, each with a limit (issue 11 F2: a peer that makes the
// session produce more than its caller takes cannot grow the server's memory). Filled by
// proto::session, emptied by its pop_packet / pop_event; control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "dpvpn/session_types.h"

namespace dpvpn::proto {

class session_queue {
 public:
  static constexpr size_t k_max_packets = 256;  // packets not yet taken by pop_packet
  static constexpr size_t k_max_events = 256;   // events not yet taken by pop_event

  void push_packet(std::vector<uint8_t> pkt) { packets_.push_back(std::move(pkt)); }
  // False, and ev dropped, when k_max_events are waiting; a `failed` event always goes in.
  bool push_event(session_event ev);
  bool pop_packet(std::vector<uint8_t>& out);
  bool pop_event(session_event& ev);

  bool packets_over_limit() const noexcept { return packets_.size() > k_max_packets; }
  size_t queued_bytes() const noexcept;

 private:
  std::deque<std::vector<uint8_t>> packets_;
  std::deque<session_event> events_;
};

}  // namespace dpvpn::proto
