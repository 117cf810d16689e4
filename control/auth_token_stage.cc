// SPDX-License-Identifier: MIT
// auth_pipeline: auth-gen-token — a client that reconnects with the token it was pushed skips
// auth-user-pass-verify; tokens are renewed on renegotiation and at the renewal interval.
#include <ctime>

#include "auth_pipeline.h"
#include "setup.h"  // control_setup

namespace dpvpn::cp {

namespace {
// Tokens carry wall-clock seconds (they outlive the process with auth-gen-token-secret).
uint64_t wall_s() { return static_cast<uint64_t>(std::time(nullptr)); }
}  // namespace

// Called before auth-user-pass-verify (openvpn's verify_user_pass): a password that looks like
// a token is checked here. Without external-auth a valid token replaces the script and an
// invalid or expired one is refused (AUTH_FAILED,SESSION: token expired for an expired one, so
// that the client drops it and retries with its password); with external-auth the script runs
// anyway and sees session_state. Either way the token to push is made now, so that scripts see
// its session_id.
bool auth_pipeline::check_auth_token(client& c, uint64_t now_ms) {
  if (!cfg_.auth_gen_token) return false;
  const std::string& user = c.s->username();
  const std::string& pass = c.s->password();
  const uint64_t now = wall_s();
  proto::auth_token_check r;
  if (!proto::is_auth_token(pass)) {
    c.token.session_state = "Initial";
  } else {
    r = proto::verify_auth_token(setup_.auth_token_key, pass, user, now, setup_.auth_token_renewal_s,
                                 cfg_.auth_gen_token_lifetime);
    static const char* const states[2][2] = {{"Authenticated", "Expired"}, {"AuthenticatedEmptyUser", "ExpiredEmptyUser"}};
    c.token.session_state = r.hmac_ok ? states[r.empty_user][r.expired] : "Invalid";
  }
  const bool keep_session = r.hmac_ok && !r.expired;  // renew the presented token's session
  if (keep_session) c.token.initial = pass;
  c.token.empty_user = keep_session && r.empty_user;
  c.token.pushed = proto::generate_auth_token(setup_.auth_token_key, user, c.token.initial,
                                            c.token.empty_user, now);
  if (c.token.initial.empty()) c.token.initial = c.token.pushed;
  if (!proto::is_auth_token(pass) || cfg_.auth_gen_token_external) return false;

  if (r.valid()) {
    log_(2, c.name + ": auth-token accepted for user '" + env_safe(user) + "' (session " +
               proto::auth_token_session_id(c.token.pushed) + "), auth-user-pass-verify skipped");
    start_connect(c, now_ms);
    return true;
  }
  const std::string why = !r.hmac_ok ? "auth-token invalid (not made with this server's key, or for another user)"
                          : r.expired ? "auth-token expired"
                                      : "auth-token valid only for an empty username";
  c.token.pushed.clear();  // nothing is pushed to a refused client
  c.token.initial.clear();
  reject(c, why, now_ms, r.expired ? "SESSION: token expired" : "");
  return true;
}

// openvpn 2.6 sends a renewed token as a PUSH_REPLY holding only `auth-token TOKEN`, on the
// active TLS session; the session id and the initial timestamp stay.
void auth_pipeline::renew_auth_token(client& c, uint64_t now_ms) {
  if (c.auth.stage != client::auth_stage::accepted || c.token.initial.empty() || c.dead || c.s->failed()) return;
  c.token.pushed = proto::generate_auth_token(setup_.auth_token_key, c.s->username(), c.token.initial,
                                            c.token.empty_user, wall_s());
  c.s->send_text("PUSH_REPLY,auth-token " + c.token.pushed, now_ms);  // the caller drains c
  log_(4, c.name + ": auth-token renewed");
  if (c.token.renew_ms) c.token.renew_ms = now_ms + uint64_t{setup_.auth_token_renewal_s} * 1000;
}

// A renewal interval shorter than reneg-sec gets its own timer (openvpn's
// auth_token_renewal_interval); otherwise renegotiation renews the token.
void auth_pipeline::renew_auth_tokens(uint64_t now_ms) {
  if (!cfg_.auth_gen_token || setup_.auth_token_renewal_s >= cfg_.reneg_sec_max) return;
  for (auto& [key, cp] : table_.all()) {
    client& c = *cp;
    if (c.auth.stage != client::auth_stage::accepted || c.token.initial.empty()) continue;
    if (c.token.renew_ms == 0) {
      c.token.renew_ms = c.auth.accepted_ms + uint64_t{setup_.auth_token_renewal_s} * 1000;
    } else if (now_ms >= c.token.renew_ms) {
      renew_auth_token(c, now_ms);
      ops_.drain(c, now_ms);
    }
  }
}

}  // namespace dpvpn::cp
