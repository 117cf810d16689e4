// SPDX-License-Identifier: MIT
// session: packet plumbing — unwrap, replay, ACKs, reliability, wrapping, timers (§2, §3, §12, §13).
#include "dpvpn/session.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <limits>

#include "dpvpn/packet.h"
#include "session_internal.h"

namespace dpvpn::proto {

namespace {
constexpr uint64_t k_never = std::numeric_limits<uint64_t>::max();
constexpr size_t k_udp_ipv4_overhead = 28;  // §2.5 datagram overhead estimate
constexpr size_t k_tcp_ipv4_overhead = 40;

wire::session_id random_sid() {
  wire::session_id s{};
  do {
    crypto::random_bytes(s.data(), s.size());
  } while (!wire::sid_defined(s));
  return s;
}
}  // namespace

std::vector<crypto::cipher_alg> default_data_ciphers() {
  return {crypto::cipher_alg::aes_256_gcm, crypto::cipher_alg::aes_128_gcm, crypto::cipher_alg::chacha20_poly1305};
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

session::session(const session_config& cfg, uint64_t now_ms) : cfg_(cfg) {
  own_sid_ = random_sid();
  wrap_time_ = static_cast<uint32_t>(now_ms / 1000);
  switch (cfg_.wrap) {
    case wrap_mode::none: wrap_ = wrap_keys::none(); break;
    case wrap_mode::tls_auth: wrap_ = wrap_keys::tls_auth(cfg_.wrap_key, cfg_.auth_digest, cfg_.key_direction); break;
    case wrap_mode::tls_crypt: wrap_ = wrap_keys::tls_crypt(cfg_.wrap_key, cfg_.server); break;
  }
  if (cfg_.tcv2) {
    if (cfg_.server) {
      wrap_ = wrap_keys::none();  // set from the client's WKc (§3.5)
    } else {
      wrap_ = wrap_keys::tls_crypt(cfg_.tcv2_client.kc, false);
      wrap_counter_ = wire::k_early_neg_start;  // first packet carries 0x0f000001 (§4.3)
    }
  }
  if (cfg_.server && cfg_.reneg_sec > 10) {
    // §12.1: a server subtracts up to 10 % so that it, not the client, usually renegotiates.
    uint32_t r = 0;
    crypto::random_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
    reneg_jitter_ms_ = r % (uint64_t{cfg_.reneg_sec} * 100);
  }
}

session::~session() { OPENSSL_cleanse(password_.data(), password_.size()); }

uint8_t session::primary_key_id() const noexcept { return primary_ ? primary_->kid : 0; }

session::key_state* session::find_ks(uint8_t kid) {
  if (primary_ && primary_->kid == kid) return primary_.get();
  if (lame_duck_ && lame_duck_->kid == kid) return lame_duck_.get();
  return nullptr;
}

session::key_state& session::new_ks(uint8_t kid, uint64_t now_ms) {
  auto ks = std::make_unique<key_state>(kid, cfg_.tls_timeout_ms, now_ms);
  ks->authorized = !cfg_.server || !cfg_.reauth || kid == 0;  // key_id 0: authorized_ and the push
  if (cfg_.server) ks->tls = std::make_unique<tls_session>(*cfg_.tls);  // the client starts TLS
  primary_ = std::move(ks);                                             // on the peer's reset
  return *primary_;
}

void session::emit(session_event ev) {
  if (events_.size() >= k_max_events && ev.type != session_event_type::failed) {
    fail("too many control-channel events queued");
    return;
  }
  events_.push_back(std::move(ev));
}

size_t session::queued_bytes() const noexcept {
  size_t n = 0;
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    n += ks->rel.queued_bytes();
    if (ks->tls) n += ks->tls->pending_ciphertext();
  }
  for (const auto& p : out_) n += p.size();
  for (const session_event& e : events_) n += sizeof e + e.text.size();
  return n;
}

// F2 (issue 11): every queue the peer can fill has a limit; exceeding one fails the session,
// which the caller turns into a teardown. Called after every flush.
void session::check_limits() {
  if (failed_) return;
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    if (ks->tls && ks->tls->pending_ciphertext() > k_max_tls_out)
      return fail("control channel: TLS output over " + std::to_string(k_max_tls_out) + " bytes (peer not ACKing)");
    if (ks->rel.unacked() > k_max_send_queue) return fail("control channel: reliability send queue over limit");
  }
  if (out_.size() > k_max_out_packets) fail("control channel: too many packets queued");
}

void session::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  session_event ev;
  ev.type = session_event_type::failed;
  ev.text = why;
  emit(std::move(ev));
}

void session::start(uint64_t now_ms) {
  if (cfg_.server || primary_) return;
  key_state& ks = new_ks(0, now_ms);
  uint8_t op = cfg_.tcv2 ? wire::P_CONTROL_HARD_RESET_CLIENT_V3 : wire::P_CONTROL_HARD_RESET_CLIENT_V2;
  ks.rel.enqueue(op, {}, now_ms);
  flush(now_ms);
}

void session::accept_cookie(const wire::session_id& ours, const wire::session_id& theirs, const key2* kc,
                            uint64_t now_ms) {
  own_sid_ = ours;
  peer_sid_ = theirs;
  peer_sid_known_ = true;
  if (cfg_.tcv2 && kc) {
    kc_ = *kc;
    wrap_ = wrap_keys::tls_crypt(kc_, true);
  }
  key_state& ks = new_ks(0, now_ms);
  ks.rel.set_next_expected(1);  // the client's reset (message 0) counts as received
  ks.rel.set_next_send_id(1);   // our reset (message 0) counts as sent and ACKed
  ks.reset_received = true;
  wrap_counter_ = 1;            // the stateless reply used replay id 1
}

session_drop session::on_packet(std::span<const uint8_t> pkt, uint64_t now_ms) {
  if (failed_) return session_drop::dead;
  if (pkt.empty()) return session_drop::malformed;
  const uint8_t op = wire::op_of(pkt[0]);
  if (wire::is_data_op(op)) return session_drop::not_control;
  if (!wire::is_control_op(op) || pkt.size() < wire::k_ctl_header) return session_drop::malformed;

  std::span<const uint8_t> wrapped = pkt;
  if (op == wire::P_CONTROL_HARD_RESET_CLIENT_V3 || op == wire::P_CONTROL_WKC_V1) {
    if (!cfg_.tcv2 || !cfg_.server) return session_drop::bad_state;
    std::span<const uint8_t> wkc;
    if (tcv2_split(pkt, wrapped, wkc) != wrap_err::ok) return session_drop::malformed;
    if (wrap_.mode == wrap_mode::none) {
      key2 kc{};
      std::vector<uint8_t> meta;
      if (tcv2_unwrap_wkc(cfg_.tcv2_server, wkc, kc, meta) != wrap_err::ok) return session_drop::unwrap_failed;
      // Check the wrapped part with Kc before keeping anything.
      wrap_keys k = wrap_keys::tls_crypt(kc, true);
      uint8_t op_kid = 0;
      wire::session_id sid{};
      replay_id rid;
      std::vector<uint8_t> body;
      if (unwrap(k, wrapped, op_kid, sid, rid, body) != wrap_err::ok) return session_drop::unwrap_failed;
      kc_ = kc;
      tcv2_meta_ = std::move(meta);
      wrap_ = k;
    } else if (cfg_.server && tcv2_meta_.empty()) {
      // Cookie path: accept_cookie() brought Kc; the metadata (for tls-crypt-v2-verify and
      // -max-age) comes from the WKc of the packet that echoed the cookie.
      key2 kc{};
      std::vector<uint8_t> meta;
      if (tcv2_unwrap_wkc(cfg_.tcv2_server, wkc, kc, meta) == wrap_err::ok && kc == kc_) tcv2_meta_ = std::move(meta);
    }
  } else if (cfg_.tcv2 && cfg_.server && wrap_.mode == wrap_mode::none) {
    return session_drop::unwrap_failed;  // a tls-crypt-v2 server takes nothing unwrapped (§3.5)
  }

  uint8_t op_kid = 0;
  wire::session_id sid{};
  replay_id rid;
  std::vector<uint8_t> body;
  if (unwrap(wrap_, wrapped, op_kid, sid, rid, body) != wrap_err::ok) return session_drop::unwrap_failed;
  const uint64_t now_s = now_ms / 1000;
  control_packet cp;
  if (decode_control_body(op, body, cp) != pkt_err::ok) return session_drop::malformed;
  if (!wire::sid_defined(sid)) return session_drop::malformed;
  const uint8_t kid = wire::key_id_of(op_kid);

  const bool hard_reset_from_client =
      op == wire::P_CONTROL_HARD_RESET_CLIENT_V2 || op == wire::P_CONTROL_HARD_RESET_CLIENT_V3;
  if (hard_reset_from_client || op == wire::P_CONTROL_HARD_RESET_SERVER_V2) {
    if (kid != 0) return session_drop::bad_key_id;
    if (hard_reset_from_client != cfg_.server) return session_drop::bad_state;
  }
  // The session id before the replay window, as openvpn picks the session first: a client that
  // restarts from the same address (a new session id, its wrapper counters starting again) is
  // wrong_session, which lets the gateway replace this session, not a replay of it.
  if (peer_sid_known_ && sid != peer_sid_) return session_drop::wrong_session;
  if (wrap_.mode != wrap_mode::none && wrap_replay_.check(rid.counter, rid.time, now_s) != replay_verdict::ok)
    return session_drop::replay;
  if (!peer_sid_known_) {
    if (!hard_reset_from_client && op != wire::P_CONTROL_HARD_RESET_SERVER_V2) return session_drop::wrong_session;
    peer_sid_ = sid;
    peer_sid_known_ = true;
  }
  if (cp.acks.n > 0 && cp.acks.remote_sid != own_sid_) return session_drop::wrong_session;
  if (wrap_.mode != wrap_mode::none) wrap_replay_.commit(rid.counter, rid.time, now_s);

  if (cfg_.server && !primary_) {
    if (!hard_reset_from_client) return session_drop::bad_state;
    key_state& ks = new_ks(0, now_ms);
    ks.rel.enqueue(wire::P_CONTROL_HARD_RESET_SERVER_V2, {}, now_ms);
  }
  key_state* ks = find_ks(kid);
  if (!ks && op == wire::P_CONTROL_SOFT_RESET_V1 && primary_ && primary_->generated &&
      kid == wire::next_key_id(primary_->kid)) {
    start_soft_reset(now_ms);
    ks = primary_.get();
  }
  if (!ks) return session_drop::bad_key_id;

  if (cp.acks.n > 0) ks->rel.on_acks(cp.acks);
  if (cp.has_msg_id) {
    ks->rel.receive(cp.msg_id, cp.payload);
    std::vector<uint8_t> payload;
    while (!failed_ && ks->rel.pop_in_order(payload)) deliver(*ks, payload, now_ms);
  }
  if (!failed_) process_ks(*ks, now_ms);
  flush(now_ms);
  return session_drop::none;
}

size_t session::max_tls_chunk() const noexcept {
  const size_t mtu = std::min<size_t>(wire::k_tls_channel_buf, std::max(cfg_.tls_mtu, wire::k_tls_mtu_min));
  size_t overhead = wire::k_ctl_header + wire::ack_record_size(wire::k_ack_piggyback_max) + 4 + wrap_.overhead() +
                    (cfg_.tcp ? k_tcp_ipv4_overhead : k_udp_ipv4_overhead);
  if (!cfg_.server && cfg_.tcv2 && resend_wkc_) overhead += cfg_.tcv2_client.wkc.size();
  return mtu > overhead + 16 ? mtu - overhead : 16;
}

void session::send_packet(key_state& ks, uint8_t op, bool has_msg_id, uint32_t msg_id,
                          std::span<const uint8_t> payload, size_t max_acks, uint64_t now_ms) {
  control_packet cp;
  cp.op = op;
  cp.key_id = ks.kid;
  cp.sid = own_sid_;
  if (peer_sid_known_) ks.rel.take_acks(cp.acks, max_acks, peer_sid_);
  cp.has_msg_id = has_msg_id;
  cp.msg_id = msg_id;
  cp.payload = payload;
  // §4.3: after RESEND_WKC the client's message 1 goes out as WKC_V1 with WKc appended.
  bool append_wkc = false;
  if (!cfg_.server && cfg_.tcv2) {
    if (op == wire::P_CONTROL_HARD_RESET_CLIENT_V3) append_wkc = true;
    if (resend_wkc_ && ks.kid == 0 && has_msg_id && msg_id == 1 && op == wire::P_CONTROL_V1) {
      cp.op = wire::P_CONTROL_WKC_V1;
      append_wkc = true;
    }
  }
  std::vector<uint8_t> body;
  encode_control_body(cp, body);
  std::vector<uint8_t> out;
  wrap(wrap_, wire::op_byte(static_cast<wire::opcode>(cp.op), ks.kid), own_sid_, body,
       replay_id{++wrap_counter_, wrap_time_}, out);
  if (append_wkc) out.insert(out.end(), cfg_.tcv2_client.wkc.begin(), cfg_.tcv2_client.wkc.end());
  out_.push_back(std::move(out));
  (void)now_ms;
}

void session::flush_ks(key_state& ks, uint64_t now_ms) {
  if (ks.tls) {
    while (ks.tls->pending_ciphertext() > 0 && ks.rel.send_window_open())
      ks.rel.enqueue(wire::P_CONTROL_V1, ks.tls->take_ciphertext(max_tls_chunk()), now_ms);
  }
  reliable::out_msg m;
  while (ks.rel.next_due(now_ms, m)) {
    std::vector<uint8_t> payload(m.payload.begin(), m.payload.end());
    send_packet(ks, m.op, true, m.msg_id, payload, wire::k_ack_piggyback_max, now_ms);
  }
  if (ks.rel.acks_pending() && peer_sid_known_) send_packet(ks, wire::P_ACK_V1, false, 0, {}, wire::k_ack_max, now_ms);
}

void session::flush(uint64_t now_ms) {
  if (failed_) return;
  if (lame_duck_) flush_ks(*lame_duck_, now_ms);
  if (primary_) flush_ks(*primary_, now_ms);
  check_limits();
}

bool session::pop_packet(std::vector<uint8_t>& out) {
  if (out_.empty()) return false;
  out = std::move(out_.front());
  out_.pop_front();
  return true;
}

bool session::pop_event(session_event& ev) {
  if (events_.empty()) return false;
  ev = std::move(events_.front());
  events_.pop_front();
  return true;
}

void session::tick(uint64_t now_ms) {
  if (failed_) return;
  timers(now_ms);
  if (failed_) return;
  if (lame_duck_) process_ks(*lame_duck_, now_ms);
  if (primary_) process_ks(*primary_, now_ms);
  flush(now_ms);
}

uint64_t session::next_wakeup_ms() const noexcept {
  if (failed_) return k_never;
  uint64_t t = k_never;
  auto consider = [&t](uint64_t v) { t = std::min(t, v); };
  for (const key_state* ks : {primary_.get(), lame_duck_.get()}) {
    if (!ks) continue;
    consider(ks->rel.next_timeout_ms());
    if (ks->kid == 0 ? !ks->active : !ks->generated) consider(ks->t_start_ms + uint64_t{cfg_.hand_window_s} * 1000);
  }
  if (lame_duck_) consider(lame_duck_->must_die_ms);
  if (primary_ && primary_->must_die_ms) consider(primary_->must_die_ms);
  if (primary_ && primary_->generated && primary_->active && !primary_->reneg_failed && cfg_.reneg_sec)
    consider(primary_->t_active_ms + uint64_t{cfg_.reneg_sec} * 1000 - reneg_jitter_ms_);
  if (!cfg_.server && primary_ && primary_->active && !established_) consider(next_push_request_ms_);
  if (fail_at_ms_) consider(fail_at_ms_);
  if (cfg_.server && authorized_ && !push_sent_) consider(authorized_ms_ + uint64_t{cfg_.hand_window_s} * 1000);
  return t;
}

void session::timers(uint64_t now_ms) {
  if (fail_at_ms_ && now_ms >= fail_at_ms_) {
    fail(fail_reason_);
    return;
  }
  // F8 (issue 11): openvpn's server has no push timeout of its own (its clients time out their
  // PUSH_REQUESTs); an authorized client that never asks would hold its slot, so it gets
  // hand-window from authorization to ask, as a handshake gets hand-window to finish.
  if (cfg_.server && authorized_ && !push_sent_ && now_ms >= authorized_ms_ + uint64_t{cfg_.hand_window_s} * 1000) {
    fail("no PUSH_REQUEST within hand-window of authentication");
    return;
  }
  if (lame_duck_ && now_ms >= lame_duck_->must_die_ms) {
    session_event ev;
    ev.type = session_event_type::key_retired;
    ev.key_id = lame_duck_->kid;
    emit(std::move(ev));
    lame_duck_.reset();
  }
  if (primary_ && primary_->must_die_ms && now_ms >= primary_->must_die_ms) {
    session_event ev;
    ev.type = session_event_type::key_retired;
    ev.key_id = primary_->kid;
    emit(std::move(ev));
    fail("key expired at tran-window after a failed renegotiation");
    return;
  }
  // A renegotiation is done when its data key exists (after the re-authentication, if any).
  if (primary_ && (primary_->kid == 0 ? !primary_->active : !primary_->generated) &&
      now_ms >= primary_->t_start_ms + uint64_t{cfg_.hand_window_s} * 1000) {
    if (primary_->kid == 0) {
      fail("TLS key negotiation failed to occur within hand-window");
      return;
    }
    fail_renegotiation(now_ms);
    if (failed_) return;
  }
  // From the key's activation (its last key-method-2 ACKed): a server derives a renegotiated key
  // before that, and its reneg-sec counts from when both sides surely hold it.
  if (primary_ && primary_->generated && primary_->active && !primary_->reneg_failed) {
    const bool by_time = cfg_.reneg_sec &&
                         now_ms >= primary_->t_active_ms + uint64_t{cfg_.reneg_sec} * 1000 - reneg_jitter_ms_;
    const bool by_bytes = cfg_.reneg_bytes && primary_->data_bytes >= cfg_.reneg_bytes;
    const bool by_pkts = cfg_.reneg_pkts && primary_->data_pkts >= cfg_.reneg_pkts;
    if (by_time || by_bytes || by_pkts) start_soft_reset(now_ms);
  }
  if (!cfg_.server && primary_ && primary_->kid == 0 && primary_->active && !established_ &&
      now_ms >= next_push_request_ms_) {
    write_text(*primary_, "PUSH_REQUEST", now_ms);
    next_push_request_ms_ = now_ms + uint64_t{wire::k_push_request_interval_s} * 1000;
  }
}

void session::note_data(uint64_t bytes, uint64_t pkts) noexcept {
  if (!primary_) return;
  primary_->data_bytes += bytes;
  primary_->data_pkts += pkts;
}

void session::renegotiate(uint64_t now_ms) {
  if (failed_ || !primary_ || !primary_->generated) return;
  start_soft_reset(now_ms);
  flush(now_ms);
}

void session::start_soft_reset(uint64_t now_ms) {
  const uint8_t kid = wire::next_key_id(primary_->kid);
  if (lame_duck_) {
    session_event ev;
    ev.type = session_event_type::key_retired;
    ev.key_id = lame_duck_->kid;
    emit(std::move(ev));
  }
  lame_duck_ = std::move(primary_);
  // A key put back after a failed renegotiation keeps its first deadline: retrying never extends it.
  const uint64_t die = now_ms + uint64_t{cfg_.tran_window_s} * 1000;
  lame_duck_->must_die_ms = lame_duck_->must_die_ms ? std::min(lame_duck_->must_die_ms, die) : die;
  key_state& ks = new_ks(kid, now_ms);
  ks.rel.enqueue(wire::P_CONTROL_SOFT_RESET_V1, {}, now_ms);
  ++renegs_;
}

// §12.3.5 and openvpn's tls_multi_process: when a renegotiation fails (TLS error, hand-window,
// no authorization), the old key stays in use only until the tran-window deadline it got when the
// renegotiation began; then the session ends (issue 11 F3: before, it was put back for good).
void session::fail_renegotiation(uint64_t now_ms) {
  if (primary_ && reauth_pending_ && reauth_kid_ == primary_->kid) {
    reauth_pending_ = false;
    OPENSSL_cleanse(password_.data(), password_.size());
    password_.clear();
  }
  if (!lame_duck_) return fail("renegotiation failed and no older key is left");
  primary_ = std::move(lame_duck_);
  primary_->reneg_failed = true;
  (void)now_ms;
}

// openvpn's tls_deauthenticate and TLSMP_KILL: AUTH_FAILED to the client (with the client reason
// as openvpn's check_tls sends tls_multi's), then the session ends (a few seconds later, so that
// the message and its ACK get through, §10.4).
void session::deauthenticate(const std::string& why, uint64_t now_ms, const std::string& client_reason) {
  if (auth_rejected_ || failed_) return;
  auth_rejected_ = true;
  // On a key whose key method 2 went both ways: the peer reads a renegotiation's first
  // plaintext as key method 2, so a refused one says it on the old key.
  key_state* k = primary_.get();
  if (k && !(k->km2_sent && k->km2_received) && lame_duck_ && lame_duck_->generated) k = lame_duck_.get();
  if (k) write_text(*k, client_reason.empty() ? "AUTH_FAILED" : "AUTH_FAILED," + client_reason, now_ms);
  fail_at_ms_ = now_ms + 5000;
  fail_reason_ = why;
}

}  // namespace dpvpn::proto
