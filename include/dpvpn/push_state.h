// SPDX-License-Identifier: MIT
// push_state: a session's push (§10.2, §10.3) and the data-channel parameters it settles (§9.1,
// §11). Owns, for a server, the option list to push, whether the client asked and whether the
// reply went out (and when it may go again); for a client, the pushed options as they arrive and
// when to ask again; for both, the negotiated cipher, tls-ekm, compression framing and peer-id.
// Called by proto::session (session_ks.cc, on PUSH_REQUEST and PUSH_REPLY); control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/control_msg.h"
#include "dpvpn/crypto.h"
#include "dpvpn/data_channel.h"
#include "dpvpn/key_method2.h"
#include "dpvpn/session_types.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

// §9.1: the framing a pushed option list makes the client use (the last compression option
// wins), or nullopt if it has none. dpvpn never compresses, so a real algorithm maps to the
// framing of its uncompressed packets: comp-lzo [yes|no|adaptive] and compress lzo -> lzo_no
// (0xFA), compress [stub] and compress lz4 -> stub (0xFB swap), compress stub-v2 and
// compress lz4-v2 -> stub_v2.
std::optional<comp_framing> pushed_framing(const std::vector<std::string>& options);

class push_state {
 public:
  // openvpn's push.c: a PUSH_REQUEST within 30 s of the last PUSH_REPLY gets no answer.
  static constexpr uint64_t k_reply_interval_ms = 30'000;

  // cfg is the session's own copy and outlives this object.
  explicit push_state(const session_config& cfg) : cfg_(cfg) {}
  push_state(const push_state&) = delete;
  push_state& operator=(const push_state&) = delete;

  // Server.
  void set_options(std::vector<std::string> options) { options_ = std::move(options); }
  void note_request() noexcept { requested_ = true; }
  // The client asked, or announced it takes a reply unasked (IV_PROTO_REQUEST_PUSH), and none went out.
  bool reply_wanted(const peer_info& pi) const noexcept {
    return !sent_ && (requested_ || (pi.iv_proto & wire::k_iv_proto_request_push));
  }
  // NCP (§11) with the client's peer-info: cipher, tls-ekm and the framing the push list makes
  // the client use. False when no cipher is shared.
  bool negotiate(const peer_info& pi);
  // The PUSH_REPLY messages: the options with peer-id, cipher and protocol-flags added (kept for
  // a repeated request). Marks the reply sent.
  std::vector<std::string> reply(const peer_info& pi, uint64_t now_ms);
  // No reply will go out (AUTH_FAILED instead).
  void mark_sent() noexcept { sent_ = true; }
  // A PUSH_REQUEST after the reply: the reply again, or nothing within k_reply_interval_ms.
  std::vector<std::string> repeat_reply(uint64_t now_ms);
  bool sent() const noexcept { return sent_; }

  // Client.
  enum class reply_status : uint8_t { partial, ok, bad_cipher };
  // One PUSH_REPLY message; ok once the last part is in and its cipher is one of ours.
  reply_status on_reply(std::string_view msg);
  const pushed_options& pushed() const noexcept { return pushed_; }
  void schedule_request(uint64_t at_ms) noexcept { next_request_ms_ = at_ms; }
  uint64_t next_request_ms() const noexcept { return next_request_ms_; }

  crypto::cipher_alg cipher() const noexcept { return cipher_; }
  bool ekm() const noexcept { return ekm_; }
  comp_framing framing() const noexcept { return framing_; }
  uint32_t peer_id() const noexcept { return peer_id_; }

 private:
  const session_config& cfg_;
  std::vector<std::string> options_;   // server: what is pushed
  bool requested_ = false;             // server: PUSH_REQUEST seen
  bool sent_ = false;
  uint64_t reply_expiry_ms_ = 0;       // server: no PUSH_REPLY for a PUSH_REQUEST before this
  pushed_options pushed_;              // client
  push_accumulator acc_;               // client: the parts of a PUSH_REPLY so far
  uint64_t next_request_ms_ = 0;       // client: the next PUSH_REQUEST
  crypto::cipher_alg cipher_ = crypto::cipher_alg::none;
  bool ekm_ = false;
  comp_framing framing_ = comp_framing::none;
  uint32_t peer_id_ = wire::k_peer_id_none;
};

}  // namespace dpvpn::proto
