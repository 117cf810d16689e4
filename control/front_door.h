// SPDX-License-Identifier: MIT
// front_door: first contact, for control packets from addresses with no session (docs/control.md,
// "First contact and the cookie"). Owns proto::server_front (stateless cookies, §4.2), the
// connect-freq-initial limit on the replies and new sessions it lets through, and the counters of
// both. Called by gateway_control: first_contact (gateway.cc), print_counters, reload (a new
// limit, gateway_reload.cc). Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "dpvpn/config.h"
#include "dpvpn/first_reply_limit.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"

namespace dpvpn::cp {

class front_door {
 public:
  // cfg is the gateway's (reload changes it in place); it outlives this object.
  front_door(const proto::session_config& session, const server_config& cfg) : front_(session), cfg_(cfg) {}

  // server_front's answer for a packet from client_addr (§4.2's address bytes). Its drops count
  // in front_dropped; a reply or a new session past connect-freq-initial comes back as a drop,
  // counted in first_reply_dropped.
  proto::server_front::result on_packet(std::span<const uint8_t> pkt, std::span<const uint8_t> client_addr,
                                        uint64_t now_ms);
  // Reload: connect-freq-initial changed; the next first contact starts a new window.
  void reset_limit() { limit_.reset(); }

  uint64_t front_dropped() const noexcept { return front_dropped_; }
  uint64_t first_reply_dropped() const noexcept { return first_reply_dropped_; }

 private:
  bool allow_first_reply(uint64_t now_ms);

  proto::server_front front_;
  const server_config& cfg_;
  std::optional<first_reply_limit> limit_;  // connect-freq-initial, made on first use
  uint64_t front_dropped_ = 0;
  uint64_t first_reply_dropped_ = 0;
};

}  // namespace dpvpn::cp
