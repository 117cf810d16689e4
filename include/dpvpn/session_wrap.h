// SPDX-License-Identifier: MIT
// session_wrap: a session's outer layer, between the wire and the per-key_id states. Owns the
// wrap keys (tls-auth, tls-crypt, or tls-crypt-v2's Kc, which a server takes from the client's
// WKc, §3.5), the wrapper's replay window and outgoing replay id, both session ids, the
// tls-crypt-v2 metadata and the client's resend-WKc flag (§4.3). Called by proto::session for
// every packet in (open) and out (seal); control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dpvpn/packet.h"
#include "dpvpn/replay.h"
#include "dpvpn/session_types.h"
#include "dpvpn/tls_wrap.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

class session_wrap {
 public:
  // cfg is the session's own copy and outlives this object. Draws our session id.
  session_wrap(const session_config& cfg, uint64_t now_ms);
  session_wrap(const session_wrap&) = delete;
  session_wrap& operator=(const session_wrap&) = delete;

  // Server, stateless-cookie path (§4.2): the session ids are known, the stateless reply used
  // replay id 1, and kc (tls-crypt-v2 only, else nullptr) wraps from now on.
  void accept_cookie(const wire::session_id& ours, const wire::session_id& theirs, const key2* kc);

  // A control packet from the peer: unwrapped (a tls-crypt-v2 server first takes Kc from the
  // WKc), decoded into cp (whose payload points into body), the session ids and the wrapper's
  // replay window checked; the peer's session id is learnt from its hard reset. none, or why not.
  session_drop open(std::span<const uint8_t> pkt, uint64_t now_ms, std::vector<uint8_t>& body, control_packet& cp);
  // Our control packet (op, key_id, ACKs, message id, payload set in cp): our session id, the
  // client's WKC_V1 form after RESEND_WKC (§4.3), the wrapper. Returns the datagram.
  std::vector<uint8_t> seal(control_packet& cp);

  // Client: the server's hard reset carries early-negotiation TLVs (§4.3). False if one is cut short.
  bool on_server_reset(std::span<const uint8_t> payload);
  // Bytes a sealed packet adds beyond the control header: the wrapper, and WKc when it goes along.
  size_t overhead() const noexcept;

  const wire::session_id& own_sid() const noexcept { return own_sid_; }
  const wire::session_id& peer_sid() const noexcept { return peer_sid_; }
  bool peer_sid_known() const noexcept { return peer_sid_known_; }
  const std::vector<uint8_t>& tcv2_metadata() const noexcept { return tcv2_meta_; }

 private:
  // tls-crypt-v2 server: the WKc of a V3 reset or WKC_V1 (wrapped: the rest of pkt).
  session_drop take_wkc(std::span<const uint8_t> pkt, std::span<const uint8_t>& wrapped);

  const session_config& cfg_;
  wrap_keys keys_;
  replay_window replay_{wire::k_replay_window_default, wire::k_replay_time_default};
  uint32_t counter_ = 0;  // our last replay id
  uint32_t time_ = 0;     // our replay time (the session's start)
  wire::session_id own_sid_{};
  wire::session_id peer_sid_{};
  bool peer_sid_known_ = false;
  key2 kc_{};                      // tls-crypt-v2 Kc (server: from WKc)
  std::vector<uint8_t> tcv2_meta_;
  bool resend_wkc_ = false;        // client: server asked for WKC_V1 (§4.3)
};

}  // namespace dpvpn::proto
