// SPDX-License-Identifier: MIT
// The session's vocabulary: the default data-ciphers and the names of its events and drops.
#include "dpvpn/session_types.h"

namespace dpvpn::proto {

std::vector<crypto::cipher_alg> default_data_ciphers() {
  return {crypto::cipher_alg::aes_256_gcm, crypto::cipher_alg::aes_128_gcm, crypto::cipher_alg::chacha20_poly1305};
}

wrap_keys static_wrap_keys(const session_config& cfg) {
  if (cfg.tcv2) return wrap_keys::none();
  switch (cfg.wrap) {
    case wrap_mode::tls_auth: return wrap_keys::tls_auth(cfg.wrap_key, cfg.auth_digest, cfg.key_direction);
    case wrap_mode::tls_crypt: return wrap_keys::tls_crypt(cfg.wrap_key, cfg.server);
    case wrap_mode::none: break;
  }
  return wrap_keys::none();
}

const char* to_string(session_event_type t) noexcept {
  switch (t) {
    case session_event_type::key_ready: return "key_ready";
    case session_event_type::key_confirmed: return "key_confirmed";
    case session_event_type::key_retired: return "key_retired";
    case session_event_type::auth_request: return "auth_request";
    case session_event_type::established: return "established";
    case session_event_type::control_message: return "control_message";
    case session_event_type::exit_received: return "exit_received";
    case session_event_type::restart_received: return "restart_received";
    case session_event_type::auth_failed: return "auth_failed";
    case session_event_type::failed: return "failed";
  }
  return "?";
}

const char* to_string(session_drop d) noexcept {
  switch (d) {
    case session_drop::none: return "none";
    case session_drop::not_control: return "not_control";
    case session_drop::malformed: return "malformed";
    case session_drop::unwrap_failed: return "unwrap_failed";
    case session_drop::replay: return "replay";
    case session_drop::wrong_session: return "wrong_session";
    case session_drop::bad_key_id: return "bad_key_id";
    case session_drop::bad_state: return "bad_state";
    case session_drop::dead: return "dead";
  }
  return "?";
}

}  // namespace dpvpn::proto
