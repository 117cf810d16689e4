// SPDX-License-Identifier: MIT
// session: the per-key_id state machine — TLS, key method 2, push, key derivation (§2.6, §5-§7, §10-§12).
#include <algorithm>
#include <cstring>
#include <string_view>

#include <openssl/crypto.h>

#include "dpvpn/key_derive.h"
#include "dpvpn/session.h"
#include "session_internal.h"

namespace dpvpn::proto {

namespace {
// §4.3: TLVs in the payload of a hard reset. Returns false if one is cut short.
bool parse_early_neg(std::span<const uint8_t> p, bool& resend_wkc) {
  size_t off = 0;
  while (off < p.size()) {
    if (p.size() - off < 4) return false;
    const uint16_t type = wire::get_u16(p.data() + off);
    const uint16_t len = wire::get_u16(p.data() + off + 2);
    off += 4;
    if (p.size() - off < len) return false;
    if (type == wire::k_tlv_early_neg_flags && len == 2 &&
        (wire::get_u16(p.data() + off) & wire::k_early_neg_resend_wkc))
      resend_wkc = true;
    off += len;
  }
  return true;
}

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

std::optional<comp_framing> pushed_framing(const std::vector<std::string>& options) {
  std::optional<comp_framing> f;
  for (const std::string& line : options) {
    const size_t sp = line.find(' ');
    const std::string_view k = std::string_view(line).substr(0, sp);
    const std::string_view a = sp == std::string::npos ? std::string_view{} : std::string_view(line).substr(sp + 1);
    if (k == "comp-lzo") {
      f = comp_framing::lzo_no;
    } else if (k == "compress") {
      if (a.empty() || a == "stub" || a == "lz4") f = comp_framing::stub;
      else if (a == "stub-v2" || a == "lz4-v2") f = comp_framing::stub_v2;
      else if (a == "lzo") f = comp_framing::lzo_no;
    }
  }
  return f;
}

void session::deliver(key_state& ks, std::vector<uint8_t>& payload, uint64_t now_ms) {
  if (!ks.reset_received) {
    // Message 0: a hard reset carries early-negotiation TLVs, a soft reset nothing (§4.3).
    ks.reset_received = true;
    if (!cfg_.server && ks.kid == 0 && !parse_early_neg(payload, resend_wkc_)) {
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
  (void)now_ms;
}

void session::process_ks(key_state& ks, uint64_t now_ms) {
  if (!ks.tls || failed_) return;
  if (!ks.tls->advance()) {
    const std::string why = "TLS error (key_id " + std::to_string(ks.kid) + "): " + ks.tls->error();
    if (&ks == primary_.get() && ks.kid != 0) return fail_renegotiation(now_ms);  // ks is gone now
    fail(why);
    return;
  }
  if (ks.tls->handshake_done()) {
    if (cfg_.server && !ks.peer_checked) {
      // openvpn's locked CN and cert hash set (verify_final_auth_checks): key_id 0 fixes the
      // certificate; a renegotiation presenting another one (CN or any hash of the chain) ends
      // the session. The CRL is checked by the TLS handshake itself, every key_id.
      ks.peer_checked = true;
      if (ks.kid == 0) {
        common_name_ = ks.tls->peer_common_name();
        for (const peer_cert& pc : ks.tls->peer_chain()) locked_cert_hashes_.push_back(pc.sha256);
      } else if (!same_peer(ks)) {
        return deauthenticate("certificate changed in renegotiation (key_id " + std::to_string(ks.kid) + ")", now_ms);
      }
    }
    if (cfg_.server && auth_rejected_ && ks.kid != 0) return;  // deauthenticated: this key_id goes no further
    if (!cfg_.server && ks.kid == 0 && common_name_.empty()) common_name_ = ks.tls->peer_common_name();
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
      if (!ks.tls->write_plaintext(write_km2(ks.ckm))) return fail("TLS write of key method 2 failed");
      ks.km2_sent = true;
    }
    uint8_t buf[wire::k_tls_channel_buf + 64];
    for (;;) {
      const int n = ks.tls->read_plaintext(buf, sizeof buf);
      if (n < 0) return fail("TLS read failed: " + ks.tls->error());
      if (n == 0) break;
      std::span<const uint8_t> unit(buf, static_cast<size_t>(n));
      if (!ks.km2_received) {
        handle_km2(ks, unit, now_ms);
      } else {
        for (const std::string& m : split_control_messages(unit))
          if (!m.empty()) handle_text(ks, m, now_ms);
      }
      if (failed_) return;
    }
    if (cfg_.server && ks.km2_received && !ks.km2_sent) {
      randomize(ks.skm);
      ks.skm.options = server_options_string(cfg_.tcp, cfg_.wrap == wrap_mode::tls_auth);
      if (!ks.tls->write_plaintext(write_km2(ks.skm))) return fail("TLS write of key method 2 failed");
      ks.km2_sent = true;
      // A renegotiated key is derived now, as openvpn's server does when it writes its key-method-2:
      // the client derives it on reading ours and may send on it before its ACK reaches us.
      if (ks.kid != 0 && ks.authorized && !ks.generated && !derive_keys(ks, false)) return;
    }
  }
  if (!ks.active && ks.km2_sent && ks.km2_received && ks.tls->pending_ciphertext() == 0 && ks.rel.all_acked())
    on_active(ks, now_ms);
  if (cfg_.server && ks.kid == 0 && ks.active && authorized_ && !push_sent_ &&
      (push_requested_ || (peer_info_.iv_proto & wire::k_iv_proto_request_push)))
    send_push_reply(now_ms);
}

void session::handle_km2(key_state& ks, std::span<const uint8_t> unit, uint64_t now_ms) {
  if (cfg_.server) {
    const km2_err e = parse_km2(unit, ks.ckm);
    if (e != km2_err::ok) return fail(std::string("bad key method 2 message: ") + to_string(e));
    ks.km2_received = true;
    if (ks.kid == 0) {
      peer_info_ = parse_peer_info(ks.ckm.peer_info);
      // openvpn's verify_user_pass: CR, LF and the other control bytes become '_' before any
      // script, file, log or CCD lookup sees them ("alice\nsecret" is user "alice_secret").
      username_ = ks.ckm.username;
      remap_name(username_);
      password_ = ks.ckm.password;
      remap_name(password_);
      peer_certs_ = ks.tls->peer_chain();  // for tls-verify, which runs as the first auth stage
      session_event ev;
      ev.type = session_event_type::auth_request;
      ev.text = username_;
      emit(std::move(ev));
    } else {
      // A renegotiation: the username is locked to key_id 0's (openvpn's tls_lock_username) and,
      // with reauth, authenticated again before its data key is made.
      std::string user = ks.ckm.username;
      remap_name(user);
      if (user != username_) {
        deauthenticate("username changed in renegotiation", now_ms);
      } else if (cfg_.reauth) {
        OPENSSL_cleanse(password_.data(), password_.size());
        password_ = ks.ckm.password;
        remap_name(password_);
        reauth_pending_ = true;
        reauth_kid_ = ks.kid;
        session_event ev;
        ev.type = session_event_type::auth_request;
        ev.key_id = ks.kid;
        ev.text = username_;
        emit(std::move(ev));
      }
    }
    // The password is kept only in password_, until authorize(); no copy stays behind.
    OPENSSL_cleanse(ks.ckm.password.data(), ks.ckm.password.size());
    ks.ckm.password.clear();
  } else {
    const km2_err e = parse_km2(unit, ks.skm);
    if (e != km2_err::ok) return fail(std::string("bad key method 2 message: ") + to_string(e));
    ks.km2_received = true;
  }
  (void)now_ms;
}

void session::handle_text(key_state& ks, const std::string& msg, uint64_t now_ms) {
  (void)ks;
  session_event ev;
  ev.text = msg;
  if (cfg_.server && msg == "PUSH_REQUEST") {
    push_requested_ = true;
    if (push_sent_) {
      // openvpn's process_incoming_push_request: one PUSH_REPLY per 30 s, the rest are ignored.
      if (now_ms < push_reply_expiry_ms_) return;
      for (const std::string& part : build_push_reply(push_options_)) write_text(*primary_, part, now_ms);
      push_reply_expiry_ms_ = now_ms + k_push_reply_interval_ms;
    } else if (auth_rejected_) {
      write_text(*primary_, "AUTH_FAILED", now_ms);
    }
    return;
  }
  if (!cfg_.server && starts_with(msg, "PUSH_REPLY")) {
    if (established_) return;  // a repeated reply (we asked twice)
    if (!push_acc_.feed(msg)) return;
    pushed_ = parse_pushed_options(push_acc_.options());
    std::optional<crypto::cipher_alg> c;
    if (pushed_.cipher) c = crypto::cipher_from_name(*pushed_.cipher);
    if (!c) c = cfg_.data_ciphers_fallback;
    bool allowed = c && (c == cfg_.data_ciphers_fallback ||
                         std::find(cfg_.data_ciphers.begin(), cfg_.data_ciphers.end(), *c) != cfg_.data_ciphers.end());
    if (!allowed) return fail("pushed cipher not in data-ciphers: " + pushed_.cipher.value_or("(none)"));
    cipher_ = *c;
    peer_id_ = pushed_.peer_id.value_or(wire::k_peer_id_none);
    ekm_ = pushed_.tls_ekm && cfg_.allow_ekm;
    framing_ = pushed_framing(push_acc_.options()).value_or(cfg_.comp);
    if (!derive_keys(*primary_)) return;
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
    fail_at_ms_ = now_ms + 1;
    fail_reason_ = msg;
  } else {
    ev.type = session_event_type::control_message;
  }
  emit(std::move(ev));
}

void session::on_active(key_state& ks, uint64_t now_ms) {
  ks.active = true;
  ks.t_active_ms = now_ms;
  if (ks.kid == 0) {
    if (!cfg_.server) next_push_request_ms_ = now_ms + 1000;  // the server normally pushes unasked
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
  if (ekm_) {
    ok = derive_ekm(*ks.tls, k);
  } else {
    const wire::session_id& csid = cfg_.server ? peer_sid_ : own_sid_;
    const wire::session_id& ssid = cfg_.server ? own_sid_ : peer_sid_;
    ok = derive_prf(ks.ckm, ks.skm, csid, ssid, k);
  }
  if (!ok || key2_is_weak(k, crypto::key_len(cipher_))) {
    fail("data key derivation failed");
    return false;
  }
  ks.generated = true;
  session_event ev;
  ev.type = session_event_type::key_ready;
  ev.key_id = ks.kid;
  ev.key = k;
  ev.cipher = cipher_;
  ev.digest = cfg_.data_auth;
  ev.framing = framing_;
  ev.confirmed = confirmed;
  emit(std::move(ev));
  return true;
}

void session::send_push_reply(uint64_t now_ms) {
  key_state& ks = *primary_;
  auto c = ncp_select(cfg_.data_ciphers, peer_info_, cfg_.data_ciphers_fallback);
  if (!c) {
    write_text(ks, "AUTH_FAILED,Data channel cipher negotiation failed (no shared cipher)", now_ms);
    auth_rejected_ = true;
    fail_at_ms_ = now_ms + 5000;
    fail_reason_ = "no shared data cipher";
    push_sent_ = true;
    return;
  }
  cipher_ = *c;
  ekm_ = cfg_.allow_ekm && (peer_info_.iv_proto & wire::k_iv_proto_tls_key_export);
  // The push list (global and per-client) is final here; what it says the client will use
  // is what the keys are installed with. Without one, the server's own framing (§9.1).
  framing_ = pushed_framing(push_options_).value_or(cfg_.comp);
  if (!derive_keys(ks)) return;
  std::vector<std::string> opts = push_options_;
  if (peer_info_.iv_proto & wire::k_iv_proto_data_v2) {
    peer_id_ = cfg_.peer_id;
    opts.push_back("peer-id " + std::to_string(peer_id_));
  }
  opts.push_back(std::string("cipher ") + crypto::name(cipher_));
  if (peer_info_.iv_proto & wire::k_iv_proto_cc_exit_notify)
    opts.push_back(ekm_ ? "protocol-flags cc-exit tls-ekm" : "protocol-flags cc-exit");
  else if (ekm_)
    opts.push_back("key-derivation tls-ekm");
  push_options_ = opts;
  for (const std::string& part : build_push_reply(opts)) write_text(ks, part, now_ms);
  push_sent_ = true;
  push_reply_expiry_ms_ = now_ms + k_push_reply_interval_ms;
  established_ = true;
  session_event ev;
  ev.type = session_event_type::established;
  emit(std::move(ev));
}

void session::write_text(key_state& ks, std::string_view msg, uint64_t now_ms) {
  // §B.15: text goes on the newest key state whose TLS session is up.
  key_state* k = &ks;
  if (!k->tls || !k->tls->handshake_done()) k = (lame_duck_ && lame_duck_->tls) ? lame_duck_.get() : nullptr;
  if (!k || !k->tls || !k->tls->handshake_done()) return;
  std::vector<uint8_t> m(msg.begin(), msg.end());
  m.push_back(0);
  if (!k->tls->write_plaintext(m)) fail("TLS write failed");
  (void)now_ms;
}

void session::authorize(bool ok, std::vector<std::string> push, const std::string& reason, uint64_t now_ms) {
  OPENSSL_cleanse(password_.data(), password_.size());
  password_.clear();
  if (failed_ || !cfg_.server || !primary_) return;
  if (reauth_pending_) {
    reauth_pending_ = false;
    key_state* ks = find_ks(reauth_kid_);
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
    auth_rejected_ = true;
    write_text(*primary_, reason.empty() ? "AUTH_FAILED" : "AUTH_FAILED," + reason, now_ms);
    fail_at_ms_ = now_ms + 5000;  // let the message and its ACK get through, then drop (§10.4)
    fail_reason_ = "authentication failed: " + (reason.empty() ? std::string("rejected") : reason);
    flush(now_ms);
    return;
  }
  authorized_ = true;
  authorized_ms_ = now_ms;
  push_options_ = std::move(push);
  process_ks(*primary_, now_ms);
  flush(now_ms);
}

void session::send_text(std::string_view msg, uint64_t now_ms) {
  if (failed_ || !primary_) return;
  write_text(*primary_, msg, now_ms);
  flush(now_ms);
}

bool session::same_peer(key_state& ks) const {
  if (ks.tls->peer_common_name() != common_name_) return false;
  const std::vector<peer_cert> chain = ks.tls->peer_chain();
  if (chain.size() != locked_cert_hashes_.size()) return false;
  for (size_t i = 0; i < chain.size(); ++i)
    if (chain[i].sha256 != locked_cert_hashes_[i]) return false;
  return true;
}

}  // namespace dpvpn::proto
