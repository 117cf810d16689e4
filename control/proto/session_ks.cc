// SPDX-License-Identifier: MIT
// session: the per-key_id state machine — TLS, key method 2, push, key derivation (§2.6, §5-§7, §10-§12).
#include <cstring>
#include <string_view>

#include <openssl/crypto.h>

#include "dpvpn/key_derive.h"
#include "dpvpn/session.h"

namespace dpvpn::proto {

namespace {
bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// 2.6 client's IV_PROTO as we announce it: DATA_V2, REQUEST_PUSH, CC_EXIT_NOTIFY (+ TLS_KEY_EXPORT,
// + DYN_TLS_CRYPT when asked). Without DYN_TLS_CRYPT a stock server never pushes dyn-tls-crypt.
uint32_t client_iv_proto(const session_config& c) {
  uint32_t v = wire::k_iv_proto_data_v2 | wire::k_iv_proto_cc_exit_notify;
  if (c.announce_request_push) v |= wire::k_iv_proto_request_push;
  if (c.allow_ekm) v |= wire::k_iv_proto_tls_key_export;
  if (c.announce_dyn_tls_crypt) v |= wire::k_iv_proto_dyn_tls_crypt;
  return v;
}
}  // namespace

void session::deliver(key_state& ks, std::vector<uint8_t>& payload) {
  if (!ks.reset_received) {
    // Message 0: a hard reset carries early-negotiation TLVs, a soft reset nothing (§4.3).
    ks.reset_received = true;
    if (!cfg_.server && ks.kid == 0 && !wire_.on_server_reset(payload)) {
      fail("early-negotiation TLV cut short");
      return;
    }
    if (!cfg_.server && !ks.tls) {
      ks.tls = std::make_unique<tls_session>(*cfg_.tls);  // TLS client starts: ClientHello
    }
    return;
  }
  if (!ks.tls) return;
  ks.tls->feed_ciphertext(payload);
}

void session::process_ks(key_state& ks, uint64_t now_ms) {
  if (!ks.tls || failed_) return;
  if (!ks.tls->advance()) {
    const std::string why = "TLS error (key_id " + std::to_string(ks.kid) + "): " + ks.tls->error();
    if (&ks == keys_.primary() && ks.kid != 0) return fail_renegotiation();  // ks is gone now
    fail(why);
    return;
  }
  if (ks.tls->handshake_done() && !on_handshake(ks, now_ms)) return;
  if (!ks.active && ks.km2_sent && ks.km2_received && ks.tls->pending_ciphertext() == 0 && ks.rel.all_acked())
    on_active(ks, now_ms);
  if (cfg_.server && ks.kid == 0 && ks.active && auth_.authorized() && push_.reply_wanted(auth_.info()))
    send_push_reply(now_ms);
}

// False: this key_id goes no further for now (failed, deauthenticated, or its key derivation failed).
bool session::on_handshake(key_state& ks, uint64_t now_ms) {
  if (cfg_.server && !ks.peer_checked) {
    // key_id 0 fixes the certificate; a renegotiation presenting another one ends the session.
    ks.peer_checked = true;
    if (ks.kid == 0) {
      auth_.lock_certificate(*ks.tls);
    } else if (!auth_.same_certificate(*ks.tls)) {
      deauthenticate("certificate changed in renegotiation (key_id " + std::to_string(ks.kid) + ")", now_ms);
      return false;
    }
  }
  if (cfg_.server && auth_.rejected() && ks.kid != 0) return false;  // deauthenticated: this key_id goes no further
  if (!cfg_.server && ks.kid == 0 && auth_.common_name().empty()) auth_.set_common_name(ks.tls->peer_common_name());
  if (!cfg_.server && !ks.km2_sent) {
    randomize(ks.ckm);
    ks.ckm.options = client_options_string(cfg_.tcp, cfg_.wrap == wrap_mode::tls_auth);
    ks.ckm.username = cfg_.username;
    ks.ckm.password = cfg_.password;
    std::string pi = "IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\nIV_CIPHERS=";
    for (size_t i = 0; i < cfg_.data_ciphers.size(); ++i)
      pi += std::string(i ? ":" : "") + crypto::name(cfg_.data_ciphers[i]);
    pi += "\nIV_PROTO=" + std::to_string(client_iv_proto(cfg_)) + "\n" + cfg_.peer_info_extra;
    ks.ckm.peer_info = pi;
    if (!ks.tls->write_plaintext(write_km2(ks.ckm))) {
      fail("TLS write of key method 2 failed");
      return false;
    }
    ks.km2_sent = true;
  }
  uint8_t buf[wire::k_tls_channel_buf + 64];
  for (;;) {
    const int n = ks.tls->read_plaintext(buf, sizeof buf);
    if (n < 0) {
      fail("TLS read failed: " + ks.tls->error());
      return false;
    }
    if (n == 0) break;
    std::span<const uint8_t> unit(buf, static_cast<size_t>(n));
    if (!ks.km2_received) {
      handle_km2(ks, unit, now_ms);
    } else {
      for (const std::string& m : split_control_messages(unit))
        if (!m.empty()) handle_text(m, now_ms);
    }
    if (failed_) return false;
  }
  if (cfg_.server && ks.km2_received && !ks.km2_sent) {
    randomize(ks.skm);
    ks.skm.options = server_options_string(cfg_.tcp, cfg_.wrap == wrap_mode::tls_auth);
    if (!ks.tls->write_plaintext(write_km2(ks.skm))) {
      fail("TLS write of key method 2 failed");
      return false;
    }
    ks.km2_sent = true;
    // A renegotiated key is derived now, as openvpn's server does when it writes its key-method-2:
    // the client derives it on reading ours and may send on it before its ACK reaches us.
    if (ks.kid != 0 && ks.authorized && !ks.generated && !derive_keys(ks, false)) return false;
  }
  return true;
}

void session::handle_km2(key_state& ks, std::span<const uint8_t> unit, uint64_t now_ms) {
  if (cfg_.server) {
    const km2_err e = parse_km2(unit, ks.ckm);
    if (e != km2_err::ok) return fail(std::string("bad key method 2 message: ") + to_string(e));
    ks.km2_received = true;
    if (ks.kid == 0) {
      auth_.on_first_km2(ks.ckm, *ks.tls);
      session_event ev;
      ev.type = session_event_type::auth_request;
      ev.text = auth_.username();
      emit(std::move(ev));
    } else if (!auth_.same_username(ks.ckm.username)) {
      // A renegotiation: the username is locked to key_id 0's (openvpn's tls_lock_username) and,
      // with reauth, authenticated again before its data key is made.
      deauthenticate("username changed in renegotiation", now_ms);
    } else if (cfg_.reauth) {
      auth_.await_reauth(ks.kid, ks.ckm.password);
      session_event ev;
      ev.type = session_event_type::auth_request;
      ev.key_id = ks.kid;
      ev.text = auth_.username();
      emit(std::move(ev));
    }
    // The password is kept only in peer_auth, until authorize(); no copy stays behind.
    OPENSSL_cleanse(ks.ckm.password.data(), ks.ckm.password.size());
    ks.ckm.password.clear();
  } else {
    const km2_err e = parse_km2(unit, ks.skm);
    if (e != km2_err::ok) return fail(std::string("bad key method 2 message: ") + to_string(e));
    ks.km2_received = true;
  }
}

void session::handle_text(const std::string& msg, uint64_t now_ms) {
  session_event ev;
  ev.text = msg;
  if (cfg_.server && msg == "PUSH_REQUEST") {
    push_.note_request();
    if (push_.sent()) {
      for (const std::string& part : push_.repeat_reply(now_ms)) write_text(*keys_.primary(), part);
    } else if (auth_.rejected()) {
      write_text(*keys_.primary(), "AUTH_FAILED");
    }
    return;
  }
  if (!cfg_.server && starts_with(msg, "PUSH_REPLY")) {
    if (established_) return;  // a repeated reply (we asked twice)
    switch (push_.on_reply(msg)) {
      case push_state::reply_status::partial: return;
      case push_state::reply_status::bad_cipher:
        return fail("pushed cipher not in data-ciphers: " + push_.pushed().cipher.value_or("(none)"));
      case push_state::reply_status::ok: break;
    }
    if (!derive_keys(*keys_.primary())) return;
    established_ = true;
    ev.type = session_event_type::established;
    emit(std::move(ev));
    return;
  }
  if (msg == "EXIT") {
    ev.type = session_event_type::exit_received;
  } else if (!cfg_.server && (starts_with(msg, "RESTART") || starts_with(msg, "HALT"))) {
    ev.type = session_event_type::restart_received;
  } else if (!cfg_.server && starts_with(msg, "AUTH_FAILED")) {
    ev.type = session_event_type::auth_failed;
    fail_later(msg, now_ms + 1);
  } else {
    ev.type = session_event_type::control_message;
  }
  emit(std::move(ev));
}

void session::on_active(key_state& ks, uint64_t now_ms) {
  ks.active = true;
  ks.t_active_ms = now_ms;
  if (ks.kid == 0) {
    if (!cfg_.server) push_.schedule_request(now_ms + 1000);  // the server normally pushes unasked
    return;
  }
  // Renegotiated key: same cipher and derivation method, no push (§12.2); after reauth, if any.
  // Derived when our key-method-2 went out; now the client has it for sure.
  if (!ks.authorized) return;
  if (!ks.generated) {
    derive_keys(ks);
  } else if (cfg_.server) {
    session_event ev;
    ev.type = session_event_type::key_confirmed;
    ev.key_id = ks.kid;
    emit(std::move(ev));
  }
}

bool session::derive_keys(key_state& ks, bool confirmed) {
  key2 k{};
  bool ok;
  if (push_.ekm()) {
    ok = derive_ekm(*ks.tls, k);
  } else {
    const wire::session_id& csid = cfg_.server ? wire_.peer_sid() : wire_.own_sid();
    const wire::session_id& ssid = cfg_.server ? wire_.own_sid() : wire_.peer_sid();
    ok = derive_prf(ks.ckm, ks.skm, csid, ssid, k);
  }
  if (!ok || key2_is_weak(k, crypto::key_len(push_.cipher()))) {
    fail("data key derivation failed");
    return false;
  }
  ks.generated = true;
  session_event ev;
  ev.type = session_event_type::key_ready;
  ev.key_id = ks.kid;
  ev.key = k;
  ev.cipher = push_.cipher();
  ev.digest = cfg_.data_auth;
  ev.framing = push_.framing();
  ev.confirmed = confirmed;
  emit(std::move(ev));
  return true;
}

void session::send_push_reply(uint64_t now_ms) {
  key_state& ks = *keys_.primary();
  if (!push_.negotiate(auth_.info())) {
    write_text(ks, "AUTH_FAILED,Data channel cipher negotiation failed (no shared cipher)");
    auth_.set_rejected();
    fail_later("no shared data cipher", now_ms + 5000);
    push_.mark_sent();
    return;
  }
  if (!derive_keys(ks)) return;
  for (const std::string& part : push_.reply(auth_.info(), now_ms)) write_text(ks, part);
  established_ = true;
  session_event ev;
  ev.type = session_event_type::established;
  emit(std::move(ev));
}

void session::write_text(key_state& ks, std::string_view msg) {
  // §B.15: text goes on the newest key state whose TLS session is up.
  key_state* k = &ks;
  key_state* ld = keys_.lame_duck();
  if (!k->tls || !k->tls->handshake_done()) k = (ld && ld->tls) ? ld : nullptr;
  if (!k || !k->tls || !k->tls->handshake_done()) return;
  std::vector<uint8_t> m(msg.begin(), msg.end());
  m.push_back(0);
  if (!k->tls->write_plaintext(m)) fail("TLS write failed");
}

void session::authorize(bool ok, std::vector<std::string> push, const std::string& reason, uint64_t now_ms) {
  auth_.wipe_password();
  if (failed_ || !cfg_.server || !keys_.primary()) return;
  if (auth_.reauth_pending()) {
    auth_.end_reauth();
    key_state* ks = keys_.find(auth_.reauth_kid());
    if (!ok) {
      deauthenticate("renegotiation: authentication failed: " + (reason.empty() ? std::string("rejected") : reason), now_ms,
                     reason);
    } else if (ks && !ks->generated) {
      ks->authorized = true;
      if (ks->active) derive_keys(*ks);                  // our key-method-2 is ACKed already
      else if (ks->km2_sent) derive_keys(*ks, false);   // on its way: on_active confirms
    }
    flush(now_ms);
    return;
  }
  if (!ok) {
    auth_.set_rejected();
    write_text(*keys_.primary(), reason.empty() ? "AUTH_FAILED" : "AUTH_FAILED," + reason);
    // Let the message and its ACK get through, then drop (§10.4).
    fail_later("authentication failed: " + (reason.empty() ? std::string("rejected") : reason), now_ms + 5000);
    flush(now_ms);
    return;
  }
  auth_.set_authorized(now_ms);
  push_.set_options(std::move(push));
  process_ks(*keys_.primary(), now_ms);
  flush(now_ms);
}

void session::send_text(std::string_view msg, uint64_t now_ms) {
  if (failed_ || !keys_.primary()) return;
  write_text(*keys_.primary(), msg);
  flush(now_ms);
}

}  // namespace dpvpn::proto
