// SPDX-License-Identifier: MIT
// session: packet plumbing — the parts in and out, ACKs, reliability, limits, timers (§2, §12, §13).
#include "dpvpn/session.h"

#include <algorithm>

namespace dpvpn::proto {

namespace {
constexpr uint64_t k_never = key_slots::k_never;
constexpr size_t k_udp_ipv4_overhead = 28;  // §2.5 datagram overhead estimate
constexpr size_t k_tcp_ipv4_overhead = 40;
}  // namespace

// The parts are built in declaration order: our session id is drawn before the reneg-sec jitter.
session::session(const session_config& cfg, uint64_t now_ms)
    : cfg_(cfg), wire_(cfg_, now_ms), keys_(cfg_), push_(cfg_) {}

session::~session() = default;  // peer_auth wipes the password

uint8_t session::primary_key_id() const noexcept { return keys_.primary() ? keys_.primary()->kid : 0; }

void session::emit(session_event ev) {
  if (!queue_.push_event(std::move(ev))) fail("too many control-channel events queued");
}

void session::retire(uint8_t kid) {
  session_event ev;
  ev.type = session_event_type::key_retired;
  ev.key_id = kid;
  emit(std::move(ev));
}

size_t session::queued_bytes() const noexcept { return keys_.queued_bytes() + queue_.queued_bytes(); }

// F2 (issue 11): every queue the peer can fill has a limit; exceeding one fails the session,
// which the caller turns into a teardown. Called after every flush.
void session::check_limits() {
  if (failed_) return;
  if (const std::string why = keys_.over_limit(); !why.empty()) return fail(why);
  if (queue_.packets_over_limit()) fail("control channel: too many packets queued");
}

void session::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  session_event ev;
  ev.type = session_event_type::failed;
  ev.text = why;
  emit(std::move(ev));
}

void session::fail_later(const std::string& why, uint64_t at_ms) {
  fail_at_ms_ = at_ms;
  fail_reason_ = why;
}

void session::start(uint64_t now_ms) {
  if (cfg_.server || keys_.primary()) return;
  key_state& ks = keys_.start(0, now_ms);
  uint8_t op = cfg_.tcv2 ? wire::P_CONTROL_HARD_RESET_CLIENT_V3 : wire::P_CONTROL_HARD_RESET_CLIENT_V2;
  ks.rel.enqueue(op, {}, now_ms);
  flush(now_ms);
}

void session::accept_cookie(const wire::session_id& ours, const wire::session_id& theirs, const key2* kc,
                            uint64_t now_ms) {
  wire_.accept_cookie(ours, theirs, kc);
  key_state& ks = keys_.start(0, now_ms);
  ks.rel.set_next_expected(1);  // the client's reset (message 0) counts as received
  ks.rel.set_next_send_id(1);   // our reset (message 0) counts as sent and ACKed
  ks.reset_received = true;
}

session_drop session::on_packet(std::span<const uint8_t> pkt, uint64_t now_ms) {
  if (failed_) return session_drop::dead;
  std::vector<uint8_t> body;  // cp.payload points into it
  control_packet cp;
  if (const session_drop d = wire_.open(pkt, now_ms, body, cp); d != session_drop::none) return d;
  const uint8_t op = cp.op;
  const uint8_t kid = cp.key_id;

  if (cfg_.server && !keys_.primary()) {
    if (op != wire::P_CONTROL_HARD_RESET_CLIENT_V2 && op != wire::P_CONTROL_HARD_RESET_CLIENT_V3)
      return session_drop::bad_state;
    key_state& ks = keys_.start(0, now_ms);
    ks.rel.enqueue(wire::P_CONTROL_HARD_RESET_SERVER_V2, {}, now_ms);
  }
  key_state* ks = keys_.find(kid);
  const key_state* primary = keys_.primary();
  if (!ks && op == wire::P_CONTROL_SOFT_RESET_V1 && primary && primary->generated &&
      kid == wire::next_key_id(primary->kid)) {
    start_soft_reset(now_ms);
    ks = keys_.primary();
  }
  if (!ks) return session_drop::bad_key_id;

  if (cp.acks.n > 0) ks->rel.on_acks(cp.acks);
  if (cp.has_msg_id) {
    ks->rel.receive(cp.msg_id, cp.payload);
    std::vector<uint8_t> payload;
    while (!failed_ && ks->rel.pop_in_order(payload)) deliver(*ks, payload);
  }
  if (!failed_) process_ks(*ks, now_ms);
  flush(now_ms);
  return session_drop::none;
}

size_t session::max_tls_chunk() const noexcept {
  const size_t mtu = std::min<size_t>(wire::k_tls_channel_buf, std::max(cfg_.tls_mtu, wire::k_tls_mtu_min));
  const size_t overhead = wire::k_ctl_header + wire::ack_record_size(wire::k_ack_piggyback_max) + 4 +
                          wire_.overhead() + (cfg_.tcp ? k_tcp_ipv4_overhead : k_udp_ipv4_overhead);
  return mtu > overhead + 16 ? mtu - overhead : 16;
}

void session::send_packet(key_state& ks, uint8_t op, bool has_msg_id, uint32_t msg_id,
                          std::span<const uint8_t> payload, size_t max_acks) {
  control_packet cp;
  cp.op = op;
  cp.key_id = ks.kid;
  if (wire_.peer_sid_known()) ks.rel.take_acks(cp.acks, max_acks, wire_.peer_sid());
  cp.has_msg_id = has_msg_id;
  cp.msg_id = msg_id;
  cp.payload = payload;
  queue_.push_packet(wire_.seal(cp));
}

void session::flush_ks(key_state& ks, uint64_t now_ms) {
  if (ks.tls) {
    while (ks.tls->pending_ciphertext() > 0 && ks.rel.send_window_open())
      ks.rel.enqueue(wire::P_CONTROL_V1, ks.tls->take_ciphertext(max_tls_chunk()), now_ms);
  }
  reliable::out_msg m;
  while (ks.rel.next_due(now_ms, m)) {
    std::vector<uint8_t> payload(m.payload.begin(), m.payload.end());
    send_packet(ks, m.op, true, m.msg_id, payload, wire::k_ack_piggyback_max);
  }
  if (ks.rel.acks_pending() && wire_.peer_sid_known()) send_packet(ks, wire::P_ACK_V1, false, 0, {}, wire::k_ack_max);
}

void session::flush(uint64_t now_ms) {
  if (failed_) return;
  if (key_state* ld = keys_.lame_duck()) flush_ks(*ld, now_ms);
  if (key_state* p = keys_.primary()) flush_ks(*p, now_ms);
  check_limits();
}

bool session::pop_packet(std::vector<uint8_t>& out) { return queue_.pop_packet(out); }

bool session::pop_event(session_event& ev) { return queue_.pop_event(ev); }

void session::tick(uint64_t now_ms) {
  if (failed_) return;
  timers(now_ms);
  if (failed_) return;
  if (key_state* ld = keys_.lame_duck()) process_ks(*ld, now_ms);
  if (key_state* p = keys_.primary()) process_ks(*p, now_ms);
  flush(now_ms);
}

uint64_t session::next_wakeup_ms() const noexcept {
  if (failed_) return k_never;
  uint64_t t = keys_.next_wakeup_ms();
  auto consider = [&t](uint64_t v) { t = std::min(t, v); };
  const key_state* p = keys_.primary();
  if (!cfg_.server && p && p->active && !established_) consider(push_.next_request_ms());
  if (fail_at_ms_) consider(fail_at_ms_);
  if (cfg_.server && auth_.authorized() && !push_.sent())
    consider(auth_.authorized_ms() + uint64_t{cfg_.hand_window_s} * 1000);
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
  if (cfg_.server && auth_.authorized() && !push_.sent() &&
      now_ms >= auth_.authorized_ms() + uint64_t{cfg_.hand_window_s} * 1000) {
    fail("no PUSH_REQUEST within hand-window of authentication");
    return;
  }
  if (const std::optional<uint8_t> kid = keys_.expire_lame_duck(now_ms)) retire(*kid);
  if (const key_state* p = keys_.primary(); p && p->must_die_ms && now_ms >= p->must_die_ms) {
    retire(p->kid);
    fail("key expired at tran-window after a failed renegotiation");
    return;
  }
  if (keys_.handshake_overdue(now_ms)) {
    if (keys_.primary()->kid == 0) {
      fail("TLS key negotiation failed to occur within hand-window");
      return;
    }
    fail_renegotiation();
    if (failed_) return;
  }
  if (keys_.reneg_due(now_ms)) start_soft_reset(now_ms);
  key_state* p = keys_.primary();
  if (!cfg_.server && p && p->kid == 0 && p->active && !established_ && now_ms >= push_.next_request_ms()) {
    write_text(*p, "PUSH_REQUEST");
    push_.schedule_request(now_ms + uint64_t{wire::k_push_request_interval_s} * 1000);
  }
}

void session::note_data(uint64_t bytes, uint64_t pkts) noexcept { keys_.note_data(bytes, pkts); }

void session::renegotiate(uint64_t now_ms) {
  if (failed_ || !keys_.primary() || !keys_.primary()->generated) return;
  start_soft_reset(now_ms);
  flush(now_ms);
}

void session::start_soft_reset(uint64_t now_ms) {
  if (const std::optional<uint8_t> old = keys_.rotate(now_ms)) retire(*old);
  keys_.primary()->rel.enqueue(wire::P_CONTROL_SOFT_RESET_V1, {}, now_ms);
}

// §12.3.5 and openvpn's tls_multi_process: when a renegotiation fails (TLS error, hand-window,
// no authorization), the old key stays in use only until the tran-window deadline it got when the
// renegotiation began; then the session ends (issue 11 F3: before, it was put back for good).
void session::fail_renegotiation() {
  const key_state* p = keys_.primary();
  if (p && auth_.reauth_pending() && auth_.reauth_kid() == p->kid) {
    auth_.end_reauth();
    auth_.wipe_password();
  }
  if (!keys_.restore()) fail("renegotiation failed and no older key is left");
}

// openvpn's tls_deauthenticate and TLSMP_KILL: AUTH_FAILED to the client (with the client reason
// as openvpn's check_tls sends tls_multi's), then the session ends (a few seconds later, so that
// the message and its ACK get through, §10.4).
void session::deauthenticate(const std::string& why, uint64_t now_ms, const std::string& client_reason) {
  if (auth_.rejected() || failed_) return;
  auth_.set_rejected();
  // On a key whose key method 2 went both ways: the peer reads a renegotiation's first
  // plaintext as key method 2, so a refused one says it on the old key.
  key_state* k = keys_.primary();
  key_state* ld = keys_.lame_duck();
  if (k && !(k->km2_sent && k->km2_received) && ld && ld->generated) k = ld;
  if (k) write_text(*k, client_reason.empty() ? "AUTH_FAILED" : "AUTH_FAILED," + client_reason);
  fail_later(why, now_ms + 5000);
}

}  // namespace dpvpn::proto
