// SPDX-License-Identifier: MIT
// server_front: the server's first contact with an unknown address (§4.2, §4.3). Answers
// HARD_RESET_CLIENT_V2/V3 statelessly with an HMAC-cookie session id, and says "create the
// session" only when a later packet echoes a valid cookie, so spoofed resets create no state.
// Control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dpvpn/session.h"

namespace dpvpn::proto {

class server_front {
 public:
  // Uses the wrapping fields of cfg (wrap, wrap_key, auth_digest, key_direction, tcv2*).
  explicit server_front(const session_config& cfg);

  enum class verdict : uint8_t {
    drop,         // nothing to do (why says the reason)
    reply,        // send `reply` back; keep no state
    accept,       // create a session, call accept_cookie(ours, theirs, kc), then on_packet(pkt)
    new_session,  // create a session and call on_packet(pkt) (V3 without early negotiation)
  };
  struct result {
    verdict v = verdict::drop;
    session_drop why = session_drop::none;
    std::vector<uint8_t> reply;
    wire::session_id ours{}, theirs{};
    bool has_kc = false;
    key2 kc{};
  };
  // client_addr: bytes that identify the client's transport address (e.g. IP || port).
  result on_packet(std::span<const uint8_t> pkt, std::span<const uint8_t> client_addr, uint64_t now_ms);

 private:
  uint32_t slot(uint64_t now_ms) const noexcept;
  session_config cfg_;
  std::array<uint8_t, 32> cookie_key_{};  // random per process
};

}  // namespace dpvpn::proto
